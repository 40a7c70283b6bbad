"""`db downgrade` never destroys running work without a question (issue 9, item 14).

A rollback below 003 dropped every instance and one of 004 unlinked every sequence task,
silently. Now the command lists what would be lost, per organisation, and needs ``--yes``
or a terminal's confirmation; without either it changes nothing and exits 1.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable

import psycopg
import pytest

from seqctl.db.connection import make_engine
from seqctl.db.migrate import current

from ..conftest import Result
from ..db import catalog

Cli = Callable[..., Result]


class Terminal(io.StringIO):
    """stdin as a terminal on which the user types ANSWER."""

    def isatty(self) -> bool:
        return True


def _instance(conn: psycopg.Connection[tuple[object, ...]], org: object, status: str) -> object:
    restaurant = conn.execute(
        "INSERT INTO restaurants (organisation_id, name) VALUES (%s, 'R') RETURNING id", (org,)
    ).fetchone()
    template = conn.execute(
        "SELECT id FROM sequence_templates WHERE organisation_id = %s", (org,)
    ).fetchone()
    stamp = {"active": "", "paused": "paused_at", "completed": "completed_at"}[status]
    row = conn.execute(
        "INSERT INTO sequence_instances (sequence_template_id, restaurant_id, organisation_id, "
        f"name, total_steps, status{', ' + stamp if stamp else ''}) VALUES (%s, %s, %s, 'I', 2, "
        f"%s{', now()' if stamp else ''}) RETURNING id",
        (template[0], restaurant[0], org, status),  # type: ignore[index]
    ).fetchone()
    assert row is not None
    return row[0]


def _seed(url: str) -> dict[str, object]:
    """Acme: 2 running instances, 1 completed, 3 linked tasks. Bistro: 1 running, 1 task."""
    orgs: dict[str, object] = {}
    with psycopg.connect(url) as conn:
        for name in ("Acme", "Bistro"):
            org = conn.execute(
                "INSERT INTO organisations (name) VALUES (%s) RETURNING id", (name,)
            ).fetchone()[0]  # type: ignore[index]
            orgs[name] = org
            template = conn.execute(
                "INSERT INTO sequence_templates (organisation_id, name) VALUES (%s, 'Onboard') "
                "RETURNING id",
                (org,),
            ).fetchone()[0]  # type: ignore[index]
            conn.execute(
                "INSERT INTO sequence_steps (sequence_template_id, step_order, name, type) "
                "VALUES (%s, 1, 'Call', 'call'), (%s, 2, 'Mail', 'email')",
                (template, template),
            )
        linked = [
            (orgs["Acme"], _instance(conn, orgs["Acme"], "active")),
            (orgs["Acme"], _instance(conn, orgs["Acme"], "paused")),
            (orgs["Acme"], _instance(conn, orgs["Acme"], "active")),
            (orgs["Bistro"], _instance(conn, orgs["Bistro"], "active")),
        ]
        _instance(conn, orgs["Acme"], "completed")
        for org, instance in linked:
            conn.execute(
                "INSERT INTO tasks (organisation_id, name, sequence_instance_id, "
                "sequence_step_order) VALUES (%s, 'Call', %s, 1)",
                (org, instance),
            )
        conn.execute("INSERT INTO tasks (organisation_id, name) VALUES (%s, 'standalone')", (org,))
    return orgs


def _revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return current(conn)
    finally:
        engine.dispose()


def _state(url: str) -> tuple[object, ...]:
    return (
        _revision(url),
        catalog.rows(url, "SELECT count(*) FROM sequence_instances"),
        catalog.rows(url, "SELECT count(*) FROM tasks WHERE sequence_instance_id IS NOT NULL"),
        catalog.rows(url, "SELECT count(*) FROM sequence_steps"),
    )


def test_downgrade_below_003_lists_the_losses_and_refuses_without_yes(
    cli: Cli, database_url: str
) -> None:
    orgs = _seed(database_url)
    before = _state(database_url)
    result = cli("--database-url", database_url, "db", "downgrade", "002")
    assert result.exit_code == 1
    lines = result.stderr
    assert f"3 running sequence instance(s) dropped — organisation Acme ({orgs['Acme']})" in lines
    assert f"1 finished sequence instance(s) dropped — organisation Acme ({orgs['Acme']})" in lines
    assert f"1 running sequence instance(s) dropped — organisation Bistro ({orgs['Bistro']})" in (
        lines
    )
    assert "3 task(s) unlinked from their sequence (the tasks stay) — organisation Acme" in lines
    assert "1 task(s) unlinked from their sequence (the tasks stay) — organisation Bistro" in lines
    assert "sequence step(s) dropped" not in lines  # 002 stays
    assert "no terminal is attached" in lines
    assert "seqctl db downgrade 002 --yes" in lines
    assert "Traceback" not in lines
    assert _state(database_url) == before  # nothing changed


def test_rolling_back_004_alone_asks_too_because_it_unlinks_tasks(
    cli: Cli, database_url: str
) -> None:
    _seed(database_url)
    # from 004, so that "-1" means rolling back 004 alone (005 on top loses nothing here)
    assert cli("--database-url", database_url, "db", "downgrade", "004").exit_code == 0
    before = _state(database_url)
    for target in (["003"], ["-1"], ["--", "-1"]):
        result = cli("--database-url", database_url, "db", "downgrade", *target)
        assert result.exit_code == 1, result.stderr
        assert "3 task(s) unlinked" in result.stderr
        assert "instance(s) dropped" not in result.stderr
        assert _state(database_url) == before


def test_downgrade_to_base_lists_templates_and_steps(cli: Cli, database_url: str) -> None:
    _seed(database_url)
    result = cli("--database-url", database_url, "db", "downgrade", "base")
    assert result.exit_code == 1
    assert "2 sequence step(s) dropped — organisation Acme" in result.stderr
    assert "1 sequence template(s) dropped — organisation Bistro" in result.stderr
    assert catalog.table_exists(database_url, "public.sequence_templates")


def test_yes_downgrades_and_says_what_was_lost(cli: Cli, database_url: str) -> None:
    _seed(database_url)
    tasks = catalog.rows(database_url, "SELECT id FROM tasks ORDER BY id")
    result = cli("--database-url", database_url, "db", "downgrade", "002", "--yes")
    assert result.exit_code == 0, result.stderr
    assert "-> 002" in result.stderr
    assert "3 running sequence instance(s) dropped — organisation Acme" in result.stderr
    assert not catalog.table_exists(database_url, "public.sequence_instances")
    assert catalog.rows(database_url, "SELECT id FROM tasks ORDER BY id") == tasks  # all stay


def test_a_terminal_is_asked_and_no_means_nothing_changes(
    cli: Cli, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(database_url)
    before = _state(database_url)
    monkeypatch.setattr(sys, "stdin", Terminal("n\n"))
    result = cli("--database-url", database_url, "db", "downgrade", "002")
    assert result.exit_code == 1
    assert "Downgrade and lose these rows?" in result.stderr
    assert "cancelled; nothing was changed" in result.stderr
    assert _state(database_url) == before
    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    result = cli("--database-url", database_url, "db", "downgrade", "002")
    assert result.exit_code == 0, result.stderr
    assert _revision(database_url) == "002"


def test_rows_written_while_the_user_decides_are_not_lost_unseen(
    cli: Cli, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An instance started between the list and the answer refuses the downgrade."""
    orgs = _seed(database_url)
    import typer

    def confirm_while_an_apply_commits(*_args: object, **_kwargs: object) -> bool:
        with psycopg.connect(database_url) as conn:
            _instance(conn, orgs["Bistro"], "active")
        return True

    monkeypatch.setattr(sys, "stdin", Terminal(""))
    monkeypatch.setattr(typer, "confirm", confirm_while_an_apply_commits)
    before_instances = 6
    result = cli("--database-url", database_url, "db", "downgrade", "002")
    assert result.exit_code == 1
    assert "rows were added since the list was shown" in result.stderr
    assert "2 running sequence instance(s) dropped — organisation Bistro" in result.stderr
    assert catalog.rows(database_url, "SELECT count(*) FROM sequence_instances") == [
        (before_instances,)
    ]


def test_nothing_to_lose_means_no_question(cli: Cli, database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        org = conn.execute("INSERT INTO organisations (name) VALUES ('O') RETURNING id").fetchone()
        conn.execute("INSERT INTO tasks (organisation_id, name) VALUES (%s, 'standalone')", org)
    result = cli("--database-url", database_url, "db", "downgrade", "base")
    assert result.exit_code == 0, result.stderr
    assert catalog.rows(database_url, "SELECT name FROM tasks") == [("standalone",)]


def test_rolling_back_005_asks_before_dropping_subject_lines(cli: Cli, database_url: str) -> None:
    _seed(database_url)
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE sequence_steps SET subject_line = 'Hello {first_name}' "
            "WHERE id = (SELECT id FROM sequence_steps ORDER BY step_order LIMIT 1)"
        )
        conn.commit()
    result = cli("--database-url", database_url, "db", "downgrade", "004")
    assert result.exit_code == 1, result.stderr
    assert "1 step subject line(s) dropped" in result.stderr
    assert _revision(database_url) == "005"
    result = cli("--database-url", database_url, "db", "downgrade", "004", "--yes")
    assert result.exit_code == 0, result.stderr
    assert _revision(database_url) == "004"


@pytest.mark.parametrize("target", ["--bogus", "999", "-x", ""])
def test_unknown_downgrade_target_is_a_usage_error(
    cli: Cli, database_url: str, target: str
) -> None:
    result = cli("--database-url", database_url, "db", "downgrade", target)
    assert result.exit_code == 64, result.stderr
    assert "unknown revision" in result.stderr
    assert "internal error" not in result.stderr
    assert _revision(database_url) == "005"

"""`seqctl db sql FROM:TO` prints SQL that runs as printed and does what the db commands do.

Each range is run with real ``psql -v ON_ERROR_STOP=1`` on a database at FROM, and the whole
catalog (tables, columns, constraints, indexes, policies, triggers, functions, comments,
privileges, the version table and its revision) is compared with a database taken from FROM
to TO by ``seqctl db upgrade`` / ``db downgrade``: identical.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from alembic.script import ScriptDirectory

from seqctl.db.migrate import alembic_config

from ..conftest import ROOT, Result
from .offline_helpers import psql, psql_ok, revision_points, scratch_databases
from .schema_snapshot import differences, snapshot

Cli = Callable[..., Result]

POINTS = revision_points()
HEAD = POINTS[-1]


def _ranges() -> list[str]:
    steps = list(zip(POINTS, POINTS[1:], strict=False))
    return [
        *(f"{low}:{high}" for low, high in steps),  # each revision, upgrade
        *(f"{high}:{low}" for low, high in steps),  # each revision, downgrade
        "base:head",
        "head:base",
        f"{POINTS[1]}:head",  # several revisions from one
        f"head:{POINTS[1]}",  # a downgrade between revisions
    ]


def _resolve(point: str) -> str:
    return HEAD if point == "head" else point


def _migrate(cli: Cli, url: str, start: str, end: str) -> None:
    """What the db commands do for FROM:TO."""
    going_down = POINTS.index(_resolve(start)) > POINTS.index(_resolve(end))
    command = ["db", "downgrade", end, "--yes"] if going_down else ["db", "upgrade", end]
    result = cli("--database-url", url, *command)
    assert result.exit_code == 0, result.stderr


def _at(cli: Cli, url: str, point: str) -> None:
    if point != "base":
        result = cli("--database-url", url, "db", "upgrade", point)
        assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("revision_range", _ranges())
def test_printed_range_runs_in_psql_and_matches_the_db_commands(
    cli: Cli, server_url: str, revision_range: str
) -> None:
    start, end = revision_range.split(":")
    printed = cli("db", "sql", revision_range)
    assert printed.exit_code == 0, printed.stderr
    assert printed.stdout.lstrip().startswith("BEGIN;")
    assert printed.stdout.rstrip().endswith("COMMIT;")
    assert printed.stdout.count("BEGIN;\n") == 1  # one transaction: all or nothing
    with scratch_databases(server_url) as make:
        by_script, by_commands = make(), make()
        _at(cli, by_script, start)
        _at(cli, by_commands, start)
        psql_ok(by_script, printed.stdout)
        _migrate(cli, by_commands, start, end)
        from_script, from_commands = snapshot(by_script), snapshot(by_commands)
    assert differences(from_commands, from_script) == {}
    expected = None if end == "base" else _resolve(end)
    assert from_script["revision"] == {("seqctl",): expected}


def test_whole_script_runs_as_one_query_like_supabases_sql_editor(
    cli: Cli, server_url: str
) -> None:
    """The SQL editor sends the script as one simple-protocol query: no psql needed."""
    with scratch_databases(server_url) as make:
        by_editor, by_commands = make(), make()
        with psycopg.connect(by_editor, autocommit=True) as conn:
            conn.execute(cli("db", "sql", "base:head").stdout.encode())
        _migrate(cli, by_commands, "base", "head")
        assert differences(snapshot(by_commands), snapshot(by_editor)) == {}
        with psycopg.connect(by_editor, autocommit=True) as conn:
            conn.execute(cli("db", "sql", "head:base").stdout.encode())
        _migrate(cli, by_commands, "head", "base")
        assert differences(snapshot(by_commands), snapshot(by_editor)) == {}


def test_migration_sql_is_printed_verbatim() -> None:
    """Every SQL text of every revision is in the script character for character.

    Before, each `%` came out doubled (`format('%%I', …)`: a syntax error in psql), and a
    `:word` would have come out as NULL (taken for a bind parameter).
    """
    upgrade = _printed("base:head")
    downgrade = _printed("head:base")
    script = ScriptDirectory.from_config(alembic_config())  # type: ignore[arg-type]
    checked = 0
    for revision in script.walk_revisions():
        module = revision.module
        for name in dir(module):
            value = getattr(module, name)
            if name.endswith("_SQL") and isinstance(value, str):
                statement = value.strip().rstrip(";")
                assert statement in upgrade or statement in downgrade, (revision.revision, name)
                checked += 1
    assert checked >= 2 * len(POINTS[1:])
    assert "%%" not in upgrade + downgrade


def _printed(revision_range: str) -> str:
    from seqctl.db.migrate import offline_sql

    start, end = (_resolve(p) for p in revision_range.split(":"))
    return offline_sql(revision_range, downgrade_sql=POINTS.index(start) > POINTS.index(end))


def test_script_refuses_a_database_at_another_revision(cli: Cli, server_url: str) -> None:
    middle = f"{POINTS[2]}:{POINTS[3]}"
    with scratch_databases(server_url) as make:
        url = make()
        _at(cli, url, HEAD)
        before = snapshot(url)
        result = psql(url, cli("db", "sql", middle).stdout)
        assert result.returncode == 3, result.stderr  # psql: a statement failed, stopped
        assert f"migrates a database at revision {POINTS[2]}" in result.stderr
        assert f"this database is at revision {HEAD}" in result.stderr
        assert f"seqctl db sql {HEAD}:" in result.stderr
        assert differences(before, snapshot(url)) == {}
        # and a whole-schema script refuses a database that already has the version table
        assert psql(url, cli("db", "sql", "base:head").stdout).returncode == 3
        assert differences(before, snapshot(url)) == {}


@pytest.mark.parametrize(
    ("revision_range", "message"),
    [
        ("head", "expected a range FROM:TO"),
        ("base:999", "unknown revision"),
        (f"{POINTS[1]}:{POINTS[1]}", "is empty"),
        (f"head:{HEAD}", "is empty"),
    ],
)
def test_db_sql_rejects_bad_ranges(cli: Cli, revision_range: str, message: str) -> None:
    result = cli("db", "sql", revision_range)
    assert result.exit_code == 64
    assert message in result.stderr
    assert result.stdout == ""


def test_help_and_readme_show_the_offline_migration() -> None:
    one_liner = 'seqctl db sql base:head | psql -v ON_ERROR_STOP=1 "$DATABASE_URL"'
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    database = readme.split("## Database", 1)[1].split("\n## ", 1)[0]
    assert one_liner in database
    assert "may not connect" in database


def test_db_sql_help_says_it_is_how_to_migrate_without_seqctl(cli: Cli) -> None:
    result = cli("db", "sql", "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "migrate a database seqctl may not connect to" in text
    assert 'seqctl db sql base:head | psql -v ON_ERROR_STOP=1 "$DATABASE_URL"' in text

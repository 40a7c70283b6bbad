"""Migrations 001–004 are the design document's SQL: proved against the document itself.

The code blocks of ``database-schema.md`` ("Migration Scripts", "Rollback Scripts") are read
at test time and run with psql on the pre-existing CRM objects; the whole catalog they give
is compared with ``seqctl db upgrade`` and ``db downgrade base``. The only differences
allowed are the ones the README lists under "Where the implementation differs from the
design document" — each of them must actually occur, and nothing else may.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from seqctl.db.migrate import VERSION_TABLE

from ..conftest import ROOT, Result
from .offline_helpers import psql_ok, scratch_databases
from .revisions import PREEXISTING_SQL
from .schema_snapshot import Snapshot, differences, snapshot

Cli = Callable[..., Result]

DOCUMENT = ROOT.parent / "shared/spec/database-schema.md"

Key = tuple[Any, ...]


def _section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _blocks(section: str) -> dict[str, str]:
    """``### heading`` -> the SQL of the ```sql block under it."""
    found = {}
    for heading, body in re.findall(r"\n### ([^\n]+)\n(.*?)(?=\n### |\Z)", section, re.S):
        code = re.search(r"```sql\n(.*?)```", body, re.S)
        if code:
            found[heading.strip()] = code.group(1)
    return found


def document_scripts() -> tuple[str, list[str], list[str]]:
    """The document's last revision, its migrations in their order, its rollbacks in theirs.

    Revisions after the document's (005, the application's later change) are not the
    document's SQL, so the comparison is with ``db upgrade`` to the document's last one.
    """
    if not DOCUMENT.is_file():
        pytest.skip(f"the design document is not at {DOCUMENT}")
    text = DOCUMENT.read_text(encoding="utf-8")
    migrations = _blocks(_section(text, "Migration Scripts"))
    rollbacks = _blocks(_section(text, "Rollback Scripts"))
    numbered = sorted(name for name in migrations if re.match(r"\d{3}_", name))
    assert numbered, "no migration scripts found in the document"
    up = [migrations[name] for name in numbered]
    down = [rollbacks[f"Rollback {name[:3]}"] for name in reversed(numbered)]
    return numbered[-1][:3], up, down


def _preexisting(url: str) -> None:
    """The CRM objects the document's migrations depend on, made as revision 001 makes them."""
    with psycopg.connect(url) as conn:
        conn.execute(PREEXISTING_SQL)


# The README's documented differences, each a test on a changed object's key. A difference
# that no longer occurs fails the test as surely as one that is not listed here.
def _clear_step_order_trigger(key: Key) -> bool:
    """README: 'Deleting an instance kept failing' — one trigger on tasks, added by 004."""
    return key == ("trigger", "public", "tasks", "tasks_clear_sequence_step_order")


def _clear_step_order_function(key: Key) -> bool:
    """… and the trigger function it executes."""
    return key == ("function", "public", "seqctl_tasks_clear_sequence_step_order()")


def _version_table(key: Key, its_schema: str) -> bool:
    """README: 'seqctl's version table' — the table, its column and key, its revision."""
    kind, *name = key
    if kind == "revision":
        return True
    if kind in ("relation", "column", "index", "constraint"):
        table = name[1].rsplit(".", 1)[-1]  # constraints name their table as regclass text
        return bool(name[0] == its_schema and table in (VERSION_TABLE, f"{VERSION_TABLE}_pkc"))
    # a schema of seqctl's own, if it keeps the table in one
    return bool(kind == "schema" and its_schema != "public" and name[0] == its_schema)


def documented_differences(upgraded: Snapshot) -> dict[str, Callable[[Key], bool]]:
    """The README's differences, as tests on the keys of changed objects."""
    (its_schema,) = [s for s, name in upgraded["relation"] if name == VERSION_TABLE]
    return {
        "trigger tasks_clear_sequence_step_order": _clear_step_order_trigger,
        "function seqctl_tasks_clear_sequence_step_order()": _clear_step_order_function,
        "seqctl's version table": lambda key: _version_table(key, its_schema),
    }


# Not in the list, because they change no catalog: the document's BEGIN/COMMIT (a
# transaction either way) and its table definitions' other constraint names and comments
# (the migrations, which this test runs, are what a database gets).


def test_document_migrations_create_what_db_upgrade_creates(cli: Cli, server_url: str) -> None:
    last, up, _down = document_scripts()
    with scratch_databases(server_url) as make:
        by_document, by_seqctl = make(), make()
        _preexisting(by_document)
        crm = snapshot(by_document)
        for script in up:
            psql_ok(by_document, script)
        documented = snapshot(by_document)
        result = cli("--database-url", by_seqctl, "db", "upgrade", last)
        assert result.exit_code == 0, result.stderr
        upgraded = snapshot(by_seqctl)

    made_by_document = differences(crm, documented)
    assert len(made_by_document) > 100  # the tables, columns, indexes, policies, …
    made_by_seqctl = differences(crm, upgraded)
    # every object the document's SQL creates or changes exists identically after db upgrade
    for key, (_before, after) in made_by_document.items():
        assert key in made_by_seqctl, f"db upgrade does not make {key}"
        assert made_by_seqctl[key][1] == after, key
    # and db upgrade makes nothing else but the documented differences, each of them
    extra = {key for key in made_by_seqctl if key not in made_by_document}
    differences_allowed = documented_differences(upgraded)
    undocumented = {k for k in extra if not any(t(k) for t in differences_allowed.values())}
    assert undocumented == set()
    for difference, test in differences_allowed.items():
        assert any(test(k) for k in extra), f"documented difference no longer occurs: {difference}"


def test_document_rollbacks_leave_what_db_downgrade_base_leaves(cli: Cli, server_url: str) -> None:
    last, up, down = document_scripts()
    with scratch_databases(server_url) as make:
        by_document, by_seqctl = make(), make()
        _preexisting(by_document)
        crm = snapshot(by_document)
        for script in up:
            psql_ok(by_document, script)
        migrated = snapshot(by_document)
        for script in down:
            psql_ok(by_document, script)
        rolled_back = snapshot(by_document)
        for command in (("db", "upgrade", last), ("db", "downgrade", "base", "--yes")):
            result = cli("--database-url", by_seqctl, *command)
            assert result.exit_code == 0, result.stderr
        downgraded = snapshot(by_seqctl)

    removed_by_document = differences(migrated, rolled_back)
    assert len(removed_by_document) > 100
    # each object the rollbacks remove is gone after db downgrade base, as they leave it…
    for key, (_before, after) in removed_by_document.items():
        kind, *name = key
        assert downgraded[kind].get(tuple(name)) == after, key
    # …and nothing else differs: seqctl's own additions (the documented differences) go too
    assert differences(rolled_back, downgraded) == {}
    assert differences(crm, rolled_back) == {}  # the document's rollbacks undo its migrations


def test_documented_differences_are_the_readmes() -> None:
    """The list above is the README's: each difference is described there."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Where the implementation differs from the design document")[1]
    section = section.split("\n## ", 1)[0]
    for needle in (
        "tasks_clear_sequence_step_order",
        VERSION_TABLE,
        "BEGIN; … COMMIT;",
        "Constraint names and comments",
    ):
        assert needle in section, needle


def test_the_document_is_read_from_the_shared_spec() -> None:
    assert DOCUMENT == Path(ROOT.parent, "shared", "spec", "database-schema.md")

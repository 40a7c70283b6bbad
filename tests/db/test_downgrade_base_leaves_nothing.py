"""`db downgrade base` leaves nothing seqctl created behind, and nothing else is touched.

The Supabase case: the CRM tables exist, and ``uuid-ossp`` lives in the ``extensions``
schema, off the search path of the migration's session — so revision 001 creates
``public.uuid_generate_v4()``. Rolling back to base (with the commands, or with the scripts
of ``db sql`` in psql) must give back exactly the catalog from before: no version table, no
such function. Anyone else's ``public.uuid_generate_v4()`` stays.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from seqctl.db.connection import make_engine
from seqctl.db.migrate import VERSION_TABLE, upgrade

from ..conftest import Result
from . import catalog
from .offline_helpers import psql_ok, scratch_databases
from .revisions import PREEXISTING_SQL, UUID_FUNCTION_MARK
from .schema_snapshot import differences, snapshot

Cli = Callable[..., Result]


def _supabase_like(url: str) -> None:
    """CRM tables whose ids come from ``extensions.uuid_generate_v4()``, as on Supabase."""
    with psycopg.connect(url) as conn:
        conn.execute("CREATE SCHEMA extensions")
        available = conn.execute(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'uuid-ossp'"
        ).fetchone()
        if available and available[0]:
            conn.execute('CREATE EXTENSION "uuid-ossp" SCHEMA extensions')
        else:  # a server without contrib: the same function, where Supabase keeps it
            conn.execute(
                "CREATE FUNCTION extensions.uuid_generate_v4() RETURNS uuid LANGUAGE sql "
                "AS 'SELECT gen_random_uuid()'"
            )
        conn.execute("SET LOCAL search_path = public, extensions")
        conn.execute(PREEXISTING_SQL)


def _upgrade(url: str) -> None:
    """`db upgrade` (the library call: a CLI confirmation for databases with tables does
    not concern what this file proves)."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            upgrade(conn, "head")
    finally:
        engine.dispose()


def _public_uuid_function(url: str) -> list[tuple[object, ...]]:
    return catalog.rows(
        url,
        "SELECT obj_description(p.oid, 'pg_proc') FROM pg_proc p "
        "WHERE p.proname = 'uuid_generate_v4' AND p.pronamespace = 'public'::regnamespace",
    )


def _version_tables(url: str) -> list[tuple[object, ...]]:
    return catalog.rows(url, "SELECT oid FROM pg_class WHERE relname = %s", (VERSION_TABLE,))


def test_downgrade_base_drops_the_version_table_and_seqctls_uuid_function(
    cli: Cli, server_url: str
) -> None:
    with scratch_databases(server_url) as make:
        url = make()
        _supabase_like(url)
        before = snapshot(url)
        assert _public_uuid_function(url) == []
        _upgrade(url)
        assert _public_uuid_function(url) == [(UUID_FUNCTION_MARK,)]  # made, and marked
        assert _version_tables(url)
        result = cli("--database-url", url, "db", "downgrade", "base")
        assert result.exit_code == 0, result.stderr
        assert _version_tables(url) == []
        assert _public_uuid_function(url) == []
        assert differences(before, snapshot(url)) == {}


def test_the_printed_scripts_leave_nothing_behind_either(cli: Cli, server_url: str) -> None:
    with scratch_databases(server_url) as make:
        url = make()
        _supabase_like(url)
        before = snapshot(url)
        psql_ok(url, cli("db", "sql", "base:head").stdout)
        assert _public_uuid_function(url) == [(UUID_FUNCTION_MARK,)]
        psql_ok(url, cli("db", "sql", "head:base").stdout)
        assert _version_tables(url) == []
        assert differences(before, snapshot(url)) == {}


def test_downgrade_base_never_drops_a_uuid_function_it_did_not_create(
    cli: Cli, server_url: str
) -> None:
    with scratch_databases(server_url) as make:
        url = make()
        with psycopg.connect(url) as conn:
            conn.execute(
                "CREATE FUNCTION public.uuid_generate_v4() RETURNS uuid LANGUAGE sql "
                "AS 'SELECT gen_random_uuid()'"
            )
            conn.execute("COMMENT ON FUNCTION public.uuid_generate_v4() IS 'the app''s own'")
        _upgrade(url)
        assert cli("--database-url", url, "db", "downgrade", "base").exit_code == 0
        assert _public_uuid_function(url) == [("the app's own",)]
        assert _version_tables(url) == []


def test_seqctls_uuid_function_stays_while_something_uses_it(cli: Cli, server_url: str) -> None:
    """A table created since (the application's, or seqctl's own CRM tables) keeps it."""
    with scratch_databases(server_url) as make:
        url = make()
        _supabase_like(url)
        _upgrade(url)
        with psycopg.connect(url) as conn:
            conn.execute("CREATE TABLE public.notes (id uuid DEFAULT public.uuid_generate_v4())")
        assert cli("--database-url", url, "db", "downgrade", "base").exit_code == 0
        assert _public_uuid_function(url) == [(UUID_FUNCTION_MARK,)]
        assert catalog.rows(url, "INSERT INTO notes DEFAULT VALUES RETURNING id IS NOT NULL") == [
            (True,)
        ]
        assert _version_tables(url) == []


def test_downgrade_base_on_an_empty_database_drops_the_version_table(
    cli: Cli, empty_database_url: str
) -> None:
    url = empty_database_url
    assert cli("--database-url", url, "db", "upgrade").exit_code == 0
    assert cli("--database-url", url, "db", "downgrade", "base").exit_code == 0
    assert _version_tables(url) == []
    assert cli("--database-url", url, "db", "current").stdout.strip() == "base"
    # and upgrading again works from there: the CRM tables seqctl made stay after base, so
    # this is a database with tables and no seqctl history, which needs --yes (spec §8)
    assert cli("--database-url", url, "db", "upgrade").exit_code == 1
    assert cli("--database-url", url, "db", "upgrade", "--yes").exit_code == 0
    assert cli("--database-url", url, "db", "current").stdout.strip().startswith("0")

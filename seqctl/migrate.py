"""Alembic migrations 001–005, driven in-process over an injected connection.

seqctl's version table lives in its own schema, out of reach of Supabase's ``anon`` and
``authenticated`` roles (Supabase grants them everything in ``public``): no grants on the
schema or the table. A database migrated by an older seqctl (the table in ``public``) has
it moved there by the next ``db upgrade``/``db downgrade``.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, TextIO

from sqlalchemy import Connection, text

from .database import current_revision
from .errors import Refused
from .resources import migrations_dir

if TYPE_CHECKING:
    from .adopt import AdoptionReport

VERSION_SCHEMA = "seqctl"
"""The schema of seqctl's Alembic version table (no grants to anon/authenticated)."""
VERSION_TABLE = "seqctl_alembic_version"
"""The name of seqctl's Alembic version table, in VERSION_SCHEMA."""
VERSION_TABLE_QUALIFIED = f"{VERSION_SCHEMA}.{VERSION_TABLE}"
ADOPTION_TABLE_QUALIFIED = f"{VERSION_SCHEMA}.seqctl_adoption"
"""Where ``db upgrade`` records that it adopted sequence tables it did not create."""
LEGACY_VERSION_SCHEMA = "public"
"""Where seqctl before issue 15 kept the version table."""
SUPABASE_API_ROLES = ("anon", "authenticated")

PREPARE_VERSION_TABLE_SQL = f"""
CREATE SCHEMA IF NOT EXISTS {VERSION_SCHEMA};
REVOKE ALL ON SCHEMA {VERSION_SCHEMA} FROM PUBLIC;
DO $seqctl$
BEGIN
  IF to_regclass('{LEGACY_VERSION_SCHEMA}.{VERSION_TABLE}') IS NOT NULL
     AND to_regclass('{VERSION_TABLE_QUALIFIED}') IS NULL THEN
    ALTER TABLE {LEGACY_VERSION_SCHEMA}.{VERSION_TABLE} SET SCHEMA {VERSION_SCHEMA};
  END IF;
END
$seqctl$
"""

LOCK_DOWN_VERSION_TABLE_SQL = f"""
DO $seqctl$
DECLARE
  api_role text;
BEGIN
  IF to_regclass('{VERSION_TABLE_QUALIFIED}') IS NOT NULL THEN
    REVOKE ALL ON TABLE {VERSION_TABLE_QUALIFIED} FROM PUBLIC;
  END IF;
  FOREACH api_role IN ARRAY ARRAY{list(SUPABASE_API_ROLES)!r}::text[] LOOP
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = api_role) THEN
      EXECUTE format('REVOKE ALL ON SCHEMA {VERSION_SCHEMA} FROM %I', api_role);
      IF to_regclass('{VERSION_TABLE_QUALIFIED}') IS NOT NULL THEN
        EXECUTE format('REVOKE ALL ON TABLE {VERSION_TABLE_QUALIFIED} FROM %I', api_role);
      END IF;
    END IF;
  END LOOP;
END
$seqctl$
"""


def prepare_version_table(connection: Connection) -> None:
    """Create seqctl's schema where missing and move a version table left in ``public``."""
    connection.execute(text(PREPARE_VERSION_TABLE_SQL))


def serialise_migrations(connection: Connection) -> None:
    """One migrating transaction at a time per database (until this transaction ends)."""
    connection.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('seqctl.migrate', 0))"))


def _at_head(connection: Connection) -> bool:
    from .database import HEAD_REVISION

    table = connection.execute(text("SELECT to_regclass(:t)"), {"t": VERSION_TABLE_QUALIFIED})
    if table.scalar() is None:
        return False
    found = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE_QUALIFIED}"))
    return bool(found.scalar() == HEAD_REVISION)


def lock_down_version_table(connection: Connection) -> None:
    """No privileges on seqctl's schema and version table for PUBLIC, anon, authenticated."""
    connection.execute(text(LOCK_DOWN_VERSION_TABLE_SQL))


def alembic_config(connection: Connection | None = None, output: TextIO | None = None) -> object:
    from alembic.config import Config

    config = Config(stdout=output or io.StringIO())
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("version_table", VERSION_TABLE)
    config.set_main_option("version_table_schema", VERSION_SCHEMA)
    config.attributes["connection"] = connection
    config.attributes["output_buffer"] = output
    return config


def upgrade(connection: Connection, revision: str = "head") -> AdoptionReport | None:
    """Migrate up to ``revision``. A database whose sequence tables exist without seqctl's
    version table (the application made them) is adopted first: verified, then recorded,
    with only what is missing applied; the report says what was found and done."""
    from alembic import command

    from .adopt import adopt_existing_tables
    from .database import HEAD_REVISION

    if revision in ("head", HEAD_REVISION) and _at_head(connection):
        return None  # nothing to do: no DDL, so concurrent commands never collide here
    serialise_migrations(connection)
    prepare_version_table(connection)
    report = adopt_existing_tables(connection, revision)
    command.upgrade(alembic_config(connection), revision)  # type: ignore[arg-type]
    lock_down_version_table(connection)
    return report


def downgrade(connection: Connection, revision: str) -> None:
    """Roll back to ``revision``. Sequence tables that ``db upgrade`` adopted are never
    dropped: ``base`` then removes only what seqctl added; a revision below the adopted one
    is refused."""
    from alembic import command

    from .adopt import adoption, release

    serialise_migrations(connection)
    prepare_version_table(connection)
    adopted = adoption(connection)
    if adopted is not None:
        target = _absolute(connection, revision)
        if target is None:
            if current(connection) != adopted.revision:
                command.downgrade(alembic_config(connection), adopted.revision)  # type: ignore[arg-type]
            release(connection, adopted)
            return
        if target < adopted.revision:
            raise Refused(
                f"the sequence tables were made by the application and adopted at revision "
                f"{adopted.revision}; seqctl does not roll them back to {target}",
                hint=f"downgrade to {adopted.revision} or later, or to base (which removes "
                "only seqctl's own additions and bookkeeping)",
            )
    command.downgrade(alembic_config(connection), revision)  # type: ignore[arg-type]
    lock_down_version_table(connection)


def _absolute(connection: Connection, revision: str) -> str | None:
    """``-1``/``base``/``005`` as a revision id (None: base)."""
    if revision == "base":
        return None
    if revision.startswith("-") and revision[1:].isdigit():
        ids = [r[0] for r in revisions()]
        here = current(connection)
        position = ids.index(here) - int(revision[1:]) if here in ids else -1
        return ids[position] if position >= 0 else None
    return revision


def current(connection: Connection) -> str | None:
    return current_revision(connection)


def revisions() -> list[tuple[str, str | None, str]]:
    """(revision, down_revision, message) from base to head."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())  # type: ignore[arg-type]
    found = [
        (
            rev.revision,
            rev.down_revision if isinstance(rev.down_revision, str) else None,
            rev.doc or "",
        )
        for rev in script.walk_revisions()
    ]
    return list(reversed(found))


def offline_sql(revision_range: str, *, downgrade_sql: bool = False) -> str:
    """The SQL of a migration range (``base:head``, ``002:004``…) for review, without a database."""
    from alembic import command

    output = io.StringIO()
    config = alembic_config(output=output)
    if downgrade_sql:
        command.downgrade(config, revision_range, sql=True)  # type: ignore[arg-type]
    else:
        command.upgrade(config, revision_range, sql=True)  # type: ignore[arg-type]
    return output.getvalue()

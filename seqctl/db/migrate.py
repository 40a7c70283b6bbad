"""Alembic migrations 001–005, driven in-process over an injected connection.

seqctl's version table lives in its own schema, out of reach of Supabase's ``anon`` and
``authenticated`` roles (Supabase grants them everything in ``public``): no grants on the
schema or the table. A database migrated by an older seqctl (the table in ``public``) has
it moved there by the next ``db upgrade``/``db downgrade``.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from sqlalchemy import Connection, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable

from ..errors import Refused, UsageError
from ..inert import inert
from ..resources import migrations_dir
from .connection import LEGACY_VERSION_SCHEMA as LEGACY_VERSION_SCHEMA
from .connection import VERSION_SCHEMA as VERSION_SCHEMA
from .connection import VERSION_TABLE as VERSION_TABLE
from .connection import current_revision

if TYPE_CHECKING:
    from alembic.config import Config

    from .adopt import AdoptionReport

VERSION_TABLE_QUALIFIED = f"{VERSION_SCHEMA}.{VERSION_TABLE}"
ADOPTION_TABLE_QUALIFIED = f"{VERSION_SCHEMA}.seqctl_adoption"
"""Where ``db upgrade`` records that it adopted sequence tables it did not create."""
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
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = api_role)
       AND EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '{VERSION_SCHEMA}') THEN
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
    from .connection import HEAD_REVISION

    table = connection.execute(text("SELECT to_regclass(:t)"), {"t": VERSION_TABLE_QUALIFIED})
    if table.scalar() is None:
        return False
    found = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE_QUALIFIED}"))
    return bool(found.scalar() == HEAD_REVISION)


def lock_down_version_table(connection: Connection) -> None:
    """No privileges on seqctl's schema and version table for PUBLIC, anon, authenticated."""
    connection.execute(text(LOCK_DOWN_VERSION_TABLE_SQL))


class VerbatimSQL(Executable, ClauseElement):
    """SQL that migrations run and ``db sql`` prints exactly as written.

    ``op.execute(str)`` would wrap the text in ``sqlalchemy.text()``, which takes every
    ``:word`` for a bind parameter: online that fails for want of a value, and offline
    (``literal_binds``) it silently prints ``NULL`` in its place. This construct has no
    parameters: the text goes to the database (``%`` escaped for the driver, as the
    dialect's paramstyle requires) or into the script unchanged.
    """

    inherit_cache = False  # never cached: each statement is compiled once

    def __init__(self, sql: str) -> None:
        self.sql = sql


@compiles(VerbatimSQL)
def _compile_verbatim(element: VerbatimSQL, compiler: SQLCompiler, **_kw: object) -> str:
    rendered: str = compiler.post_process_text(element.sql)  # type: ignore[no-untyped-call]
    return rendered


def alembic_config(connection: Connection | None = None, output: TextIO | None = None) -> Config:
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
    from .connection import HEAD_REVISION

    check_revision(revision)
    if revision in ("head", HEAD_REVISION) and _at_head(connection):
        return None  # nothing to do: no DDL, so concurrent commands never collide here
    serialise_migrations(connection)
    prepare_version_table(connection)
    report = adopt_existing_tables(connection, revision)
    with _alembic_errors(revision):
        command.upgrade(alembic_config(connection), revision)
    lock_down_version_table(connection)
    return report


def downgrade(connection: Connection, revision: str) -> None:
    """Roll back to ``revision``. Sequence tables that ``db upgrade`` adopted are never
    dropped: ``base`` then removes only what seqctl added; a revision below the adopted one
    is refused."""
    from alembic import command

    from .adopt import adoption, release

    check_revision(revision)
    serialise_migrations(connection)
    prepare_version_table(connection)
    adopted = adoption(connection)
    if adopted is not None:
        target = _absolute(connection, revision)
        if target is None:
            if current(connection) != adopted.revision:
                command.downgrade(alembic_config(connection), adopted.revision)
            release(connection, adopted)
            return
        if target < adopted.revision:
            raise Refused(
                f"the sequence tables were made by the application and adopted at revision "
                f"{adopted.revision}; seqctl does not roll them back to {target}",
                hint=f"downgrade to {adopted.revision} or later, or to base (which removes "
                "only seqctl's own additions and bookkeeping)",
            )
    with _alembic_errors(revision):
        command.downgrade(alembic_config(connection), revision)
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


def check_revision(revision: str) -> None:
    """A revision argument: head, base, a known revision or a relative step (+1, -2)."""
    known = [rev for rev, _down, _message in revisions()]
    if revision in ("head", "heads", "base", *known) or re.fullmatch(r"[+-][0-9]{1,3}", revision):
        return
    raise UsageError(
        f"unknown revision {inert(revision[:40])!r}",
        hint=f"revisions: base, {', '.join(known)}, head, or a relative step such as -1",
    )


@contextlib.contextmanager
def _alembic_errors(revision: str) -> Iterator[None]:
    """Alembic's refusals (e.g. a relative step past base) as one-line errors, exit 1."""
    from alembic.util.exc import CommandError

    check_revision(revision)
    try:
        yield
    except CommandError as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else "refused"
        raise Refused(
            f"cannot migrate to {inert(revision)!r}: {message}", hint="see `seqctl db current`"
        ) from None


def current(connection: Connection) -> str | None:
    return current_revision(connection)


def revisions() -> list[tuple[str, str | None, str]]:
    """(revision, down_revision, message) from base to head."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
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
    """The SQL of a migration range (``base:head``, ``002:004``…), without a database.

    The script runs as printed (``psql -v ON_ERROR_STOP=1``, Supabase's SQL editor): one
    transaction that refuses a database at another revision than FROM, applies the range
    and records TO in the version table (dropped at ``base``, as ``db downgrade base`` does).
    """
    from alembic import command

    output = io.StringIO()
    config = alembic_config(output=output)
    if downgrade_sql:
        command.downgrade(config, revision_range, sql=True)
    else:
        command.upgrade(config, revision_range, sql=True)
    return output.getvalue()


# -- what a downgrade destroys ---------------------------------------------------------


@dataclass(frozen=True)
class Loss:
    """Rows one organisation loses when a revision is rolled back."""

    revision: str
    organisation_id: str
    organisation: str | None
    what: str
    count: int

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.revision, self.organisation_id, self.what)


# Per revision: the tables whose rows its rollback destroys, and a query giving
# (organisation_id, what, count) for them. Revisions not listed here lose no rows.
_LOSS_QUERIES: dict[str, tuple[tuple[str, ...], str]] = {
    "005": (
        ("public.sequence_steps", "public.sequence_templates"),
        """SELECT t.organisation_id, 'step subject line(s) dropped', count(*)
           FROM public.sequence_steps s
           JOIN public.sequence_templates t ON t.id = s.sequence_template_id
           WHERE s.subject_line IS NOT NULL AND s.subject_line <> ''
           GROUP BY t.organisation_id""",
    ),
    "004": (
        ("public.tasks", "public.sequence_instances"),
        """SELECT i.organisation_id, 'task(s) unlinked from their sequence (the tasks stay)',
                  count(*)
           FROM public.tasks t JOIN public.sequence_instances i ON i.id = t.sequence_instance_id
           GROUP BY i.organisation_id""",
    ),
    "003": (
        ("public.sequence_instances",),
        """SELECT organisation_id,
                  CASE WHEN status IN ('active', 'paused')
                       THEN 'running sequence instance(s) dropped'
                       ELSE 'finished sequence instance(s) dropped' END,
                  count(*)
           FROM public.sequence_instances GROUP BY 1, 2""",
    ),
    "002": (
        ("public.sequence_steps", "public.sequence_templates"),
        """SELECT t.organisation_id, 'sequence step(s) dropped', count(*)
           FROM public.sequence_steps s
           JOIN public.sequence_templates t ON t.id = s.sequence_template_id
           GROUP BY t.organisation_id""",
    ),
    "001": (
        ("public.sequence_templates",),
        """SELECT organisation_id, 'sequence template(s) dropped', count(*)
           FROM public.sequence_templates GROUP BY organisation_id""",
    ),
}


def revisions_undone(current_revision: str | None, target: str) -> list[str] | None:
    """The revisions a downgrade from CURRENT to TARGET rolls back, newest first.

    TARGET is a revision, ``base`` or ``-N``; None when it is none of these (Alembic then
    reports the error).
    """
    order = [rev for rev, _down, _doc in revisions()]
    at = order.index(current_revision) + 1 if current_revision in order else 0
    if target == "base":
        down_to = 0
    elif target in order:
        down_to = order.index(target) + 1
    elif target.startswith("-") and target[1:].isdigit():
        down_to = max(at - int(target[1:]), 0)
    else:
        return None
    return list(reversed(order[down_to:at]))


def downgrade_losses(connection: Connection, target: str, *, lock: bool = False) -> list[Loss]:
    """What rolling back to TARGET would destroy, per revision, organisation and kind.

    With ``lock``, the tables are first locked against writes (reads go on) so that the
    counts stay true until the transaction that drops them ends.
    """
    from .adopt import adoption

    undone = revisions_undone(current(connection), target) or []
    adopted = adoption(connection)
    if adopted is not None:
        # the application's own tables are never dropped (see downgrade): only what seqctl
        # migrated on top of the adopted revision is rolled back; below it is refused
        goal = _absolute(connection, target)
        if goal is not None and goal < adopted.revision:
            return []
        undone = [revision for revision in undone if revision > adopted.revision]
    losses: list[Loss] = []
    for revision in undone:
        if revision not in _LOSS_QUERIES:
            continue
        tables, query = _LOSS_QUERIES[revision]
        if lock:
            connection.execute(text(f"LOCK TABLE {', '.join(tables)} IN EXCLUSIVE MODE"))
        found = connection.execute(
            text(
                f"""SELECT loss.organisation_id::text, loss.what, loss.n,
                          (SELECT to_jsonb(o) ->> 'name' FROM public.organisations o
                           WHERE o.id = loss.organisation_id)
                   FROM ({query}) AS loss (organisation_id, what, n)
                   ORDER BY 4, 1, 2"""
            )
        ).all()
        losses.extend(
            Loss(revision, organisation_id, name, what, int(n))
            for organisation_id, what, n, name in found
        )
    return losses

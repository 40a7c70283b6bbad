"""Alembic migrations 001–004, driven in-process over an injected connection."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TextIO

from sqlalchemy import Connection, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable

from .database import VERSION_TABLE, current_revision
from .resources import migrations_dir


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


def alembic_config(connection: Connection | None = None, output: TextIO | None = None) -> object:
    from alembic.config import Config

    config = Config(stdout=output or io.StringIO())
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("version_table", VERSION_TABLE)
    config.attributes["connection"] = connection
    config.attributes["output_buffer"] = output
    return config


def upgrade(connection: Connection, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), revision)  # type: ignore[arg-type]


def downgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(connection), revision)  # type: ignore[arg-type]


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
    """The SQL of a migration range (``base:head``, ``002:004``…), without a database.

    The script runs as printed (``psql -v ON_ERROR_STOP=1``, Supabase's SQL editor): one
    transaction that refuses a database at another revision than FROM, applies the range
    and records TO in the version table (dropped at ``base``, as ``db downgrade base`` does).
    """
    from alembic import command

    output = io.StringIO()
    config = alembic_config(output=output)
    if downgrade_sql:
        command.downgrade(config, revision_range, sql=True)  # type: ignore[arg-type]
    else:
        command.upgrade(config, revision_range, sql=True)  # type: ignore[arg-type]
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
    undone = revisions_undone(current(connection), target) or []
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

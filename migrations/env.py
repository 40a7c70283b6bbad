"""Alembic environment for seqctl.

The connection is injected by seqctl (``config.attributes["connection"]``), so the CLI and
the tests run migrations in-process inside their own transaction. Offline mode (``seqctl db
sql``) renders PostgreSQL SQL without a database: a script that runs as printed in psql
(``-v ON_ERROR_STOP=1``) or Supabase's SQL editor, in one transaction.
"""

from __future__ import annotations

from alembic import context
from alembic.operations import Operations, ops
from sqlalchemy import Table
from sqlalchemy.schema import DropTable

from seqctl.db.migrate import LOCK_DOWN_VERSION_TABLE_SQL, PREPARE_VERSION_TABLE_SQL, VerbatimSQL

config = context.config
version_table = config.get_main_option("version_table") or "seqctl_alembic_version"
version_table_schema = config.get_main_option("version_table_schema") or None


@Operations.implementation_for(ops.ExecuteSQLOp, replace=True)
def _execute_verbatim(operations: Operations, operation: ops.ExecuteSQLOp) -> None:
    """``op.execute("…")`` in seqctl's migrations runs and prints its SQL as written."""
    sql = operation.sqltext
    operations.migration_context.impl.execute(
        VerbatimSQL(sql) if isinstance(sql, str) else sql,
        execution_options=operation.execution_options,
    )


def _version_table() -> Table:
    """Alembic's own description of the version table (name and schema as configured)."""
    table: Table = context.get_context()._version  # noqa: SLF001 (as Alembic's offline mode uses it)
    return table


def _drop_version_table_at_base() -> None:
    """After a downgrade to base, nothing of seqctl's bookkeeping is left behind.

    Alembic keeps the (empty) version table in both modes (alembic#1822); seqctl drops it,
    in the same transaction as the downgrade, so that `db downgrade base` and the script of
    `db sql …:base` leave the database as it was before seqctl.
    """
    table = _version_table()
    context.execute(DropTable(table))
    if table.schema and table.schema != "public":
        # a schema of its own, once the version table was the last thing in it
        schema = context.get_context().impl.dialect.identifier_preparer.quote_schema(table.schema)
        context.execute(
            VerbatimSQL(
                f"""DO $seqctl$
BEGIN
  DROP SCHEMA {schema};
EXCEPTION WHEN dependent_objects_still_exist THEN
  NULL;
END
$seqctl$"""
            )
        )


def _require_starting_revision(revision: str) -> None:
    """Offline scripts that start at a revision refuse to run on a database at another one.

    Without this, the version table's ``UPDATE … WHERE version_num = 'FROM'`` would change
    nothing on a database at another revision, and a script could half-apply silently.
    """
    context_ = context.get_context()
    preparer = context_.impl.dialect.identifier_preparer
    table = preparer.format_table(_version_table())
    expected = revision.replace("'", "''")
    context.execute(
        VerbatimSQL(
            f"""DO $seqctl$
DECLARE
  found text;
BEGIN
  SELECT string_agg(version_num, ', ') INTO found FROM {table};
  IF found IS DISTINCT FROM '{expected}' THEN
    RAISE EXCEPTION 'seqctl: this script migrates a database at revision {expected}, '
      'but this database is at revision %', COALESCE(found, 'base')
      USING HINT = 'print the script for this database''s revision: seqctl db sql '
        || COALESCE(found, 'base') || ':TARGET';
  END IF;
END
$seqctl$"""
        )
    )


def run_offline() -> None:
    context.configure(
        dialect_name="postgresql",
        # Render every statement as written. With the driver's `pyformat` paramstyle,
        # SQLAlchemy escapes each `%` as `%%` for a DB-API that never sees this text, and
        # `format('%I', …)` in a DO block becomes a syntax error in psql (alembic#562).
        dialect_opts={"paramstyle": "named"},
        literal_binds=True,
        version_table=version_table,
        version_table_schema=version_table_schema,
        transactional_ddl=True,
        output_buffer=config.attributes.get("output_buffer"),
    )
    start = context.get_starting_revision_argument()
    with context.begin_transaction():
        # the version table's own schema (a table left in public by an older seqctl moved
        # there), as `db upgrade` prepares it
        context.execute(VerbatimSQL(PREPARE_VERSION_TABLE_SQL))
        if isinstance(start, str):
            _require_starting_revision(start)
        context.run_migrations()
        if context.get_revision_argument() is None and start is not None:
            _drop_version_table_at_base()
        else:
            context.execute(VerbatimSQL(LOCK_DOWN_VERSION_TABLE_SQL))


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("seqctl migrations need a connection injected by seqctl")
    context.configure(
        connection=connection,
        version_table=version_table,
        version_table_schema=version_table_schema,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if not context.get_context().get_current_heads():
            _drop_version_table_at_base()


if context.is_offline_mode():
    run_offline()
else:
    run_online()

"""Alembic environment for seqctl.

The connection is injected by seqctl (``config.attributes["connection"]``), so the CLI and
the tests run migrations in-process inside their own transaction. Offline mode (``seqctl db
sql``) renders PostgreSQL SQL without a database.
"""

from __future__ import annotations

from alembic import context

config = context.config
version_table = config.get_main_option("version_table") or "seqctl_alembic_version"
version_table_schema = config.get_main_option("version_table_schema") or None


def run_offline() -> None:
    context.configure(
        dialect_name="postgresql",
        literal_binds=True,
        version_table=version_table,
        version_table_schema=version_table_schema,
        transactional_ddl=True,
        output_buffer=config.attributes.get("output_buffer"),
    )
    with context.begin_transaction():
        if version_table_schema:
            # the version table's own schema, created before Alembic creates the table in it
            context.execute(f"CREATE SCHEMA IF NOT EXISTS {version_table_schema}")
        context.run_migrations()


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


if context.is_offline_mode():
    run_offline()
else:
    run_online()

"""Alembic migrations 001–004, driven in-process over an injected connection."""

from __future__ import annotations

import io
from typing import TextIO

from sqlalchemy import Connection

from .database import VERSION_TABLE, current_revision
from .resources import migrations_dir


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
    """The SQL of a migration range (``base:head``, ``002:004``…) for review, without a database."""
    from alembic import command

    output = io.StringIO()
    config = alembic_config(output=output)
    if downgrade_sql:
        command.downgrade(config, revision_range, sql=True)  # type: ignore[arg-type]
    else:
        command.upgrade(config, revision_range, sql=True)  # type: ignore[arg-type]
    return output.getvalue()

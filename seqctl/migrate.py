"""Alembic migrations 001–004, driven in-process over an injected connection."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from typing import TextIO

from sqlalchemy import Connection

from .database import VERSION_TABLE, current_revision
from .errors import Refused, UsageError
from .inert import inert
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

    with _alembic_errors(revision):
        command.upgrade(alembic_config(connection), revision)  # type: ignore[arg-type]


def downgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    with _alembic_errors(revision):
        command.downgrade(alembic_config(connection), revision)  # type: ignore[arg-type]


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

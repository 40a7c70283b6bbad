"""`seqctl db start`, `db stop`, `db shell`: the embedded server as a tool (spec §6, §8)."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import TYPE_CHECKING

import typer

from ..errors import Refused, UsageError
from .app import err, open_db, out, state
from .db_commands import db_app

if TYPE_CHECKING:
    from ..db.embedded import EmbeddedServer


def _embedded_only(ctx: typer.Context, command: str) -> None:
    if state(ctx).settings.database_url:
        raise UsageError(
            f"`seqctl db {command}` manages the embedded server, but a database URL is configured",
            hint="leave out --database-url (and unset SEQCTL_DATABASE_URL / DATABASE_URL, or "
            "remove database_url from seqctl.toml) to use the embedded server",
        )


def _server() -> EmbeddedServer:
    from ..config import project_root
    from ..db.embedded import EmbeddedServer

    return EmbeddedServer(project_root() / ".seqctl", err)


@db_app.command("start")
def db_start(ctx: typer.Context) -> int:
    """Start the embedded PostgreSQL and keep it running between commands (in .seqctl/ at
    the project root), migrated to head; later commands connect at once.

    Example:

      seqctl db start
    """
    _embedded_only(ctx, "start")
    server = _server()
    server.keep_running(True)
    try:
        with open_db(ctx, require_schema=False):  # starts, migrates, and (kept) leaves it up
            pass
    except BaseException:
        server.keep_running(False)
        raise
    out(f"embedded PostgreSQL running in {server.pgdata}")
    out(f"url: {server.url}")
    err("it keeps running until `seqctl db stop`")
    return 0


@db_app.command("stop")
def db_stop(ctx: typer.Context) -> int:
    """Stop the embedded PostgreSQL that `seqctl db start` left running.

    Example:

      seqctl db stop
    """
    _embedded_only(ctx, "stop")
    server = _server()
    if not server.pgdata.exists():
        out("no embedded server here (nothing to stop)")
        return 0
    server.keep_running(False)
    if not server.is_running():
        out("embedded PostgreSQL is not running")
        return 0
    if not server.stop_if_unused():
        raise Refused(
            "the embedded PostgreSQL is in use by another seqctl command; it stops when that "
            "command ends",
            hint="run `seqctl db stop` again once it is done",
        )
    out(f"stopped the embedded PostgreSQL in {server.pgdata}")
    return 0


@db_app.command("shell")
def db_shell(ctx: typer.Context) -> int:
    """Open psql on the configured database, or on the embedded one.

    Example:

      seqctl db shell
    """
    psql = shutil.which("psql")
    if psql is None:
        raise Refused(
            "psql is not installed", hint="install the PostgreSQL client (e.g. postgresql-client)"
        )
    with open_db(ctx, require_schema=False, migrate_embedded=False) as db:
        url = db.url.replace("postgresql+psycopg://", "postgresql://", 1)
        environment = {**os.environ, "PGAPPNAME": "seqctl db shell"}
        result = subprocess.run([psql, url], env=environment, check=False)
    return result.returncode

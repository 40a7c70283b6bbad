"""Connections: the configured database or the embedded server, with errors translated.

Connections are made so that they work through a transaction-mode pooler (PgBouncer,
Supabase's port 6543): no server-side prepared statements, no session state kept
between transactions (locks and settings are transaction-scoped).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, exc, text
from sqlalchemy.pool import NullPool

from ..config import Settings, describe_host, mask_url, sqlalchemy_url
from ..errors import DatabaseError, DatabaseUnavailable, SchemaNotMigrated, UsageError
from ..resources import migrations_dir


def _revision_ids() -> tuple[str, ...]:
    """The migrations' revision ids, base to head: the number each file name in
    ``migrations/versions`` starts with (``005_add_….py`` is revision ``005``; a test holds
    this equal to Alembic's ``migrate.revisions()``). Read from the folder, so that the
    everyday commands need no Alembic to know the head."""
    names = os.listdir(migrations_dir() / "versions")
    return tuple(sorted(m[1] for n in names if (m := re.fullmatch(r"([0-9]{3})_\w+\.py", n))))


REVISION_IDS = _revision_ids()
"""Every revision id, base to head."""
HEAD_REVISION = REVISION_IDS[-1]
"""The newest revision: what a database must be at for seqctl to work on it."""


@dataclass
class Database:
    engine: Engine
    url: str
    embedded: bool = False

    @property
    def display(self) -> str:
        return "embedded PostgreSQL (.seqctl/pgdata)" if self.embedded else mask_url(self.url)

    @contextlib.contextmanager
    def begin(self, *, as_user: str | None = None) -> Iterator[Connection]:
        """A connection inside one transaction: committed on success, rolled back on error.

        With ``as_user`` (a user id), the transaction runs under row level security as that
        user: the ``authenticated`` role and the JWT claims, as Supabase sets them.
        """
        with self.connect() as conn, translate_errors(self.url), conn.begin():
            if as_user is not None:
                act_as(conn, as_user)
            yield conn

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection; failing to connect at all is DatabaseUnavailable (exit 3)."""
        try:
            conn = self.engine.connect()
        except exc.DBAPIError as error:
            raise unavailable(error, self.url) from None
        with translate_errors(self.url), conn:
            yield conn


AUTHENTICATED_ROLE = "authenticated"


def act_as(conn: Connection, user_id: str) -> None:
    """For the rest of this transaction, be ``user_id`` under row level security."""
    claims = json.dumps({"sub": user_id, "role": AUTHENTICATED_ROLE})
    conn.execute(
        text("""
            SELECT set_config('request.jwt.claims', :claims, true),
                   set_config('request.jwt.claim.sub', :sub, true),
                   set_config('role', :role, true)
        """),
        {"claims": claims, "sub": user_id, "role": AUTHENTICATED_ROLE},
    )


def switch_to_user(conn: Connection, user_id: str, user_ref: str) -> None:
    """Switch this transaction to row level security as the user (the ``authenticated`` role
    and their JWT claims), or refuse (exit 64) where the database cannot."""
    role_exists = conn.execute(
        text("SELECT pg_has_role(current_user, oid, 'MEMBER') FROM pg_roles WHERE rolname = :r"),
        {"r": AUTHENTICATED_ROLE},
    ).scalar()
    if not role_exists:  # --as-user cannot be honoured: a usage error (64), never ignored
        raise UsageError(
            f"cannot act as {user_ref!r}: the database has no {AUTHENTICATED_ROLE!r} role that "
            "this connection may switch to",
            hint=f"connect as a member of {AUTHENTICATED_ROLE!r} (as Supabase's postgres role "
            "is), or leave out --as-user",
        )
    act_as(conn, user_id)


def make_engine(url: str, **kwargs: Any) -> Engine:
    return create_engine(
        sqlalchemy_url(url),
        poolclass=NullPool,
        hide_parameters=True,
        connect_args={
            "prepare_threshold": None,  # no server-side prepared statements (poolers)
            "application_name": "seqctl",
            "connect_timeout": 10,
        },
        **kwargs,
    )


@contextlib.contextmanager
def open_database(
    settings: Settings,
    *,
    notice: Callable[[str], None] | None = None,
    migrate_embedded: bool = True,
) -> Iterator[Database]:
    """The configured database, or the embedded server (started, migrated, stopped after)."""
    if settings.database_url:
        engine = make_engine(settings.database_url)
        try:
            yield Database(engine, settings.database_url)
        finally:
            engine.dispose()
        return

    from ..config import project_root
    from .embedded import EmbeddedServer

    server = EmbeddedServer(project_root() / ".seqctl", notice)
    with server.running() as url:
        if notice and (server.started_now or server.orphaned):  # once per start, not always
            how = (
                "kept running: `seqctl db stop` stops it"
                if server.kept
                else "stopped when this command ends; `seqctl db start` keeps it running"
            )
            found = "found running after a process that ended; " if server.orphaned else ""
            notice(
                "seqctl: no database URL configured; using the embedded PostgreSQL in "
                f"{server.pgdata} ({found}{how})"
            )
        engine = make_engine(url)
        database = Database(engine, url, embedded=True)
        try:
            if migrate_embedded:
                with database.begin() as conn:
                    # a kept-running server is migrated already: no Alembic on that path
                    if current_revision(conn) != HEAD_REVISION:
                        from .migrate import upgrade

                        upgrade(conn, HEAD_REVISION)
            yield database
        finally:
            engine.dispose()


@contextlib.contextmanager
def translate_errors(url: str) -> Iterator[None]:
    """Turn driver errors into seqctl errors whose messages never contain the password."""
    try:
        yield
    except exc.DBAPIError as error:
        raise from_driver_error(error, url) from None


def unavailable(error: exc.DBAPIError, url: str) -> DatabaseUnavailable:
    return DatabaseUnavailable(
        f"cannot connect to the database at {describe_host(url)}: {_detail(error)}",
        hint="check that the server is running and that the host, port, user, password and "
        "database name of --database-url (or SEQCTL_DATABASE_URL) are right",
    )


def from_driver_error(error: exc.DBAPIError, url: str) -> Exception:
    if error.connection_invalidated:
        return unavailable(error, url)
    detail = _detail(error)
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate == "42P01":  # undefined_table
        return SchemaNotMigrated(
            f"the database at {describe_host(url)} has no seqctl schema ({detail})",
            hint="run `seqctl db upgrade`",
        )
    suffix = f" [SQLSTATE {sqlstate}]" if sqlstate else ""
    hint = getattr(getattr(error.orig, "diag", None), "message_hint", None)
    return DatabaseError(f"database error: {detail}{suffix}", hint=hint or None)


def _detail(error: exc.DBAPIError) -> str:
    orig = error.orig
    return _first_line(str(orig)) if orig is not None else type(error).__name__


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else message


def require_migrated(conn: Connection, url: str) -> None:
    """Refuse to work on a database whose seqctl migrations are missing or behind."""
    current = current_revision(conn)
    if current == HEAD_REVISION:
        return
    where = describe_host(url)
    if current is None:
        raise SchemaNotMigrated(
            f"the database at {where} has no seqctl schema", hint="run `seqctl db upgrade`"
        )
    raise SchemaNotMigrated(
        f"the database at {where} is at seqctl migration {current}, this seqctl needs "
        f"{HEAD_REVISION}",
        hint="run `seqctl db upgrade`",
    )


def current_revision(conn: Connection) -> str | None:
    """The recorded revision: in seqctl's schema, else where an older seqctl kept it."""
    from .migrate import LEGACY_VERSION_SCHEMA, VERSION_SCHEMA, VERSION_TABLE

    for schema in (VERSION_SCHEMA, LEGACY_VERSION_SCHEMA):
        table = f"{schema}.{VERSION_TABLE}"
        usable = conn.execute(
            text("SELECT has_schema_privilege(oid, 'USAGE') FROM pg_namespace WHERE nspname = :s"),
            {"s": schema},
        ).scalar()
        if usable is None:  # no such schema
            continue
        exists = usable and conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar()
        if usable and exists is None:
            continue
        if (
            not usable
            or not conn.execute(
                text("SELECT has_table_privilege(:t, 'SELECT')"), {"t": table}
            ).scalar()
        ):
            raise DatabaseError(
                f"this database role cannot read seqctl's version table {table}, so seqctl "
                "cannot tell whether the database is migrated",
                hint=f"connect as the role that ran `seqctl db upgrade`, or GRANT USAGE ON "
                f"SCHEMA {schema} and SELECT ON {table} to this role (never to anon or "
                "authenticated)",
            )
        return conn.execute(text(f"SELECT version_num FROM {table}")).scalar()
    return None

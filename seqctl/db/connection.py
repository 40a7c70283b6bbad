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
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from ..config import Settings, check_url, describe_host, mask_url, sqlalchemy_url
from ..errors import DatabaseError, DatabaseUnavailable, SchemaNotMigrated, UsageError
from ..pg import Connection, Tx, tx
from ..resources import migrations_dir

if TYPE_CHECKING:
    from sqlalchemy import Connection as SAConnection
    from sqlalchemy import Engine


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

VERSION_SCHEMA = "seqctl"
"""The schema of seqctl's Alembic version table (no grants to anon/authenticated)."""
VERSION_TABLE = "seqctl_alembic_version"
"""The name of seqctl's Alembic version table, in VERSION_SCHEMA."""
LEGACY_VERSION_SCHEMA = "public"
"""Where seqctl before issue 15 kept the version table."""

# what every connection is made with (both ways: psycopg directly, or SQLAlchemy's engine)
CONNECT_ARGS: dict[str, Any] = {
    "prepare_threshold": None,  # no server-side prepared statements (poolers)
    "application_name": "seqctl",
    "connect_timeout": 10,
}


class Database:
    """The command's database: psycopg transactions for the run-time commands
    (:meth:`transaction`), SQLAlchemy ones for the rest (:meth:`begin`, :attr:`engine`).

    ``check_schema``: the first connection made checks that seqctl's migrations are at head,
    on that connection (one connection per command); ``migrate``: the embedded server is
    migrated there instead when it is behind.
    """

    def __init__(
        self,
        engine: Engine | None,
        url: str,
        embedded: bool = False,
        *,
        check_schema: bool = False,
        migrate: bool = False,
    ) -> None:
        self._engine = engine
        self.url = url
        self.embedded = embedded
        self._unchecked = check_schema or migrate
        self._migrate = migrate

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, made on first use (SQLAlchemy loads only then)."""
        if self._engine is None:
            self._engine = make_engine(self.url)
        return self._engine

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    @property
    def display(self) -> str:
        return "embedded PostgreSQL (.seqctl/pgdata)" if self.embedded else mask_url(self.url)

    @contextlib.contextmanager
    def transaction(
        self,
        *,
        as_user: str | None = None,
        snapshot: bool = False,
        snapshot_id: str | None = None,
    ) -> Iterator[Tx]:
        """One transaction on a new psycopg connection (no SQLAlchemy): committed on success,
        rolled back on error; driver errors become seqctl errors, as with :meth:`begin`.

        ``snapshot``: a read-only REPEATABLE READ transaction, one consistent view of
        everything it reads (``plan``, ``export``). ``snapshot_id`` (implies ``snapshot``):
        that view is the one another transaction, still open, exported with
        ``pg_export_snapshot()``, so that two connections read the same data (``report``)."""
        try:
            driver = psycopg.connect(driver_url(self.url), **CONNECT_ARGS)
        except psycopg.Error as error:
            raise unavailable(error, self.url) from None
        if snapshot or snapshot_id is not None:  # before the first statement: BEGIN carries them
            driver.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            driver.read_only = True
        with translate_errors(self.url), driver:  # commits, or rolls back on an error
            current = Tx(driver)
            if snapshot_id is not None:  # must be the transaction's first statement
                current.execute(
                    sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot_id))
                )
            self._check(current, driver.rollback)
            if as_user is not None:
                act_as(current, as_user)
            yield current

    @contextlib.contextmanager
    def begin(self, *, as_user: str | None = None) -> Iterator[SAConnection]:
        """A connection inside one transaction: committed on success, rolled back on error.

        With ``as_user`` (a user id), the transaction runs under row level security as that
        user: the ``authenticated`` role and the JWT claims, as Supabase sets them.
        """
        with self.connect() as conn, translate_errors(self.url), conn.begin():
            if as_user is not None:
                act_as(conn, as_user)
            yield conn

    @contextlib.contextmanager
    def connect(self) -> Iterator[SAConnection]:
        """A connection; failing to connect at all is DatabaseUnavailable (exit 3)."""
        from sqlalchemy import exc

        try:
            conn = self.engine.connect()
        except exc.DBAPIError as error:
            raise unavailable(error, self.url) from None
        with translate_errors(self.url), conn:
            if self._unchecked:
                self._check(conn, conn.rollback)
                conn.rollback()  # the caller begins its own transaction
            yield conn

    def _check(self, conn: Connection, end_transaction: Callable[[], None]) -> None:
        """On the command's first connection: the migrations are at head (or, embedded,
        are brought there), else SchemaNotMigrated naming the fix."""
        if not self._unchecked:
            return
        revision = current_revision(conn)
        if revision != HEAD_REVISION and self._migrate:
            end_transaction()  # no lock of ours in the migration's way
            migrate_to_head(self.engine)
            revision = HEAD_REVISION
        self._unchecked = False
        _require_head(revision, self.url)


def migrate_to_head(engine: Engine) -> None:
    """Migrate to head in a transaction of its own (imports Alembic)."""
    from .migrate import upgrade

    with engine.begin() as conn:
        if current_revision(conn) != HEAD_REVISION:
            upgrade(conn, HEAD_REVISION)


AUTHENTICATED_ROLE = "authenticated"


def act_as(conn: Connection, user_id: str) -> None:
    """For the rest of this transaction, be ``user_id`` under row level security."""
    claims = json.dumps({"sub": user_id, "role": AUTHENTICATED_ROLE})
    tx(conn).execute(
        """
        SELECT set_config('request.jwt.claims', :claims, true),
               set_config('request.jwt.claim.sub', :sub, true),
               set_config('role', :role, true)
        """,
        {"claims": claims, "sub": user_id, "role": AUTHENTICATED_ROLE},
    )


def switch_to_user(conn: Connection, user_id: str, user_ref: str) -> None:
    """Switch this transaction to row level security as the user (the ``authenticated`` role
    and their JWT claims), or refuse (exit 64) where the database cannot."""
    role_exists = tx(conn).scalar(
        "SELECT pg_has_role(current_user, oid, 'MEMBER') FROM pg_roles WHERE rolname = :r",
        {"r": AUTHENTICATED_ROLE},
    )
    if not role_exists:  # --as-user cannot be honoured: a usage error (64), never ignored
        raise UsageError(
            f"cannot act as {user_ref!r}: the database has no {AUTHENTICATED_ROLE!r} role that "
            "this connection may switch to",
            hint=f"connect as a member of {AUTHENTICATED_ROLE!r} (as Supabase's postgres role "
            "is), or leave out --as-user",
        )
    act_as(conn, user_id)


def driver_url(url: str) -> str:
    """The URL as libpq takes it (``postgresql://``; seqctl also accepts ``postgres://`` and
    ``postgresql+psycopg://``)."""
    check_url(url)
    return "postgresql://" + url.partition("://")[2]


def make_engine(url: str, **kwargs: Any) -> Engine:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    return create_engine(
        sqlalchemy_url(url),
        poolclass=NullPool,
        hide_parameters=True,
        connect_args=dict(CONNECT_ARGS),
        **kwargs,
    )


@contextlib.contextmanager
def open_database(
    settings: Settings,
    *,
    notice: Callable[[str], None] | None = None,
    migrate_embedded: bool = True,
    check_schema: bool = False,
) -> Iterator[Database]:
    """The configured database, or the embedded server (started, migrated, stopped after).

    ``check_schema``: the first connection checks that the migrations are at head (and
    migrates the embedded server there); without it the embedded server is migrated now.
    """
    if settings.database_url:
        database = Database(None, settings.database_url, check_schema=check_schema)
        try:
            yield database
        finally:
            database.dispose()
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
        database = Database(
            None, url, embedded=True, check_schema=check_schema, migrate=migrate_embedded
        )
        try:
            if migrate_embedded and not check_schema:  # nothing may connect: migrate now
                with database.transaction():
                    pass
            yield database
        finally:
            database.dispose()


@contextlib.contextmanager
def translate_errors(url: str) -> Iterator[None]:
    """Turn driver errors (psycopg's, or SQLAlchemy's wrapping them) into seqctl errors whose
    messages never contain the password."""
    try:
        yield
    except psycopg.Error as error:
        raise from_driver_error(error, url) from None
    except Exception as error:
        if _sqlalchemy_dbapi_error(error):
            raise from_driver_error(error, url) from None
        raise


def _sqlalchemy_dbapi_error(error: Exception) -> bool:
    """An SQLAlchemy DBAPIError (only possible where SQLAlchemy was imported)."""
    exc = sys.modules.get("sqlalchemy.exc")
    return exc is not None and isinstance(error, exc.DBAPIError)


def unavailable(error: Exception, url: str) -> DatabaseUnavailable:
    return DatabaseUnavailable(
        f"cannot connect to the database at {describe_host(url)}: {_detail(error)}",
        hint="check that the server is running and that the host, port, user, password and "
        "database name of --database-url (or SEQCTL_DATABASE_URL) are right",
    )


def from_driver_error(error: Exception, url: str) -> Exception:
    """A psycopg error, or SQLAlchemy's DBAPIError around one, as a seqctl error."""
    if _connection_lost(error):
        return unavailable(error, url)
    driver = _driver(error)
    detail = _detail(error)
    sqlstate = getattr(driver, "sqlstate", None)
    if sqlstate == "42P01":  # undefined_table
        return SchemaNotMigrated(
            f"the database at {describe_host(url)} has no seqctl schema ({detail})",
            hint="run `seqctl db upgrade`",
        )
    suffix = f" [SQLSTATE {sqlstate}]" if sqlstate else ""
    hint = getattr(getattr(driver, "diag", None), "message_hint", None)
    return DatabaseError(f"database error: {detail}{suffix}", hint=hint or None)


def _driver(error: Exception) -> BaseException | None:
    """The driver's own error: itself, or what SQLAlchemy's DBAPIError wraps."""
    return error if isinstance(error, psycopg.Error) else getattr(error, "orig", None)


def _connection_lost(error: Exception) -> bool:
    if not isinstance(error, psycopg.Error):  # SQLAlchemy's: it tells
        return bool(getattr(error, "connection_invalidated", False))
    if not isinstance(error, psycopg.OperationalError):
        return False
    sqlstate = error.sqlstate  # no code: the connection failed; 08: connection exception
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in ("57P01", "57P02")


def _detail(error: Exception) -> str:
    orig = _driver(error)
    return _first_line(str(orig)) if orig is not None else type(error).__name__


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else message


def require_migrated(conn: Connection, url: str) -> None:
    """Refuse to work on a database whose seqctl migrations are missing or behind."""
    _require_head(current_revision(conn), url)


def _require_head(current: str | None, url: str) -> None:
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


# per schema: whether this role may use it, has the version table in it, may read that
# (to_regclass needs USAGE on the schema: asked only then)
_VERSION_TABLES_SQL = f"""
SELECT n.nspname AS schema, u.usable, t.tbl IS NOT NULL AS has_table,
  CASE WHEN t.tbl IS NOT NULL THEN has_table_privilege(t.tbl, 'SELECT') END AS readable
FROM pg_namespace n
CROSS JOIN LATERAL (SELECT has_schema_privilege(n.oid, 'USAGE') AS usable) u
CROSS JOIN LATERAL (
  SELECT CASE WHEN u.usable THEN to_regclass(quote_ident(n.nspname) || '.{VERSION_TABLE}') END
) t(tbl)
WHERE n.nspname = ANY(CAST(:schemas AS text[]))
"""


def current_revision(conn: Connection) -> str | None:
    """The recorded revision: in seqctl's schema, else where an older seqctl kept it
    (plain SQL, no Alembic: two statements on the command's connection).."""
    db = tx(conn)
    order = (VERSION_SCHEMA, LEGACY_VERSION_SCHEMA)
    found = {r.schema: r for r in db.rows(_VERSION_TABLES_SQL, {"schemas": list(order)})}
    for schema in order:
        row = found.get(schema)
        if row is None or (row.usable and not row.has_table):  # no schema, or no table in it
            continue
        table = f"{schema}.{VERSION_TABLE}"
        if not row.usable or not row.readable:
            raise DatabaseError(
                f"this database role cannot read seqctl's version table {table}, so seqctl "
                "cannot tell whether the database is migrated",
                hint=f"connect as the role that ran `seqctl db upgrade`, or GRANT USAGE ON "
                f"SCHEMA {schema} and SELECT ON {table} to this role (never to anon or "
                "authenticated)",
            )
        revision = db.scalar(
            sql.SQL("SELECT version_num FROM {}").format(sql.Identifier(schema, VERSION_TABLE))
        )
        return None if revision is None else str(revision)
    return None

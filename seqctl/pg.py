"""Statements on psycopg directly: the run-time commands' one way to the database.

``status``, ``task complete`` and ``apply`` run in a new process each time; importing
SQLAlchemy would cost them more than the rest of the command (issue 10). So the run-time
layer talks to the DB-API connection: :class:`Tx` is one transaction on a psycopg
connection, with the few result shapes seqctl uses. Callers that hold an SQLAlchemy
``Connection`` (sync, migrations, tests) pass it as it is: :func:`tx` unwraps it to its
psycopg connection, in the same transaction.

Statements are written with ``:name`` parameters, as SQLAlchemy's ``text()`` reads them
(the same rule: not after another ``:`` or a word character, so ``::uuid`` casts and
``'09:30'`` stay as they are). SQL composed at run time is built with ``psycopg.sql``
(``SQL``, ``Identifier``, ``Placeholder``), never by formatting values into the text.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Union

from psycopg import Connection as PgConnection
from psycopg import Cursor, sql
from psycopg.rows import dict_row, namedtuple_row

if TYPE_CHECKING:
    from sqlalchemy import Connection as SAConnection

__all__ = ["Connection", "Params", "Query", "Tx", "named", "observed", "tx"]

Query = str | sql.SQL | sql.Composed
Params = Mapping[str, Any]

# SQLAlchemy's text() rule for a bound parameter, and its "\:" escape for a literal colon
_NAMED = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")


@functools.lru_cache(maxsize=512)
def named(statement: str) -> str:
    """``statement`` with ``:name`` parameters as psycopg's ``%(name)s`` (and ``%`` as ``%%``)."""
    escaped = statement.replace("%", "%%")
    return _NAMED.sub(r"%(\1)s", escaped).replace("\\:", ":")


Observer = Callable[[str, dict[str, Any]], None]
_observers: list[Observer] = []


@contextlib.contextmanager
def observed(observer: Observer) -> Iterator[None]:
    """Within the block, ``observer(statement, params)`` is told every statement run through a
    :class:`Tx`, as psycopg gets it (tests and benchmarks count and EXPLAIN them)."""
    _observers.append(observer)
    try:
        yield
    finally:
        _observers.remove(observer)


def _run(cursor: Cursor[Any], query: Query, params: Params | None) -> Cursor[Any]:
    statement = named(query) if isinstance(query, str) else query
    values = dict(params or {})  # always a mapping: "%%" then always means "%"
    for observer in _observers:
        observer(
            statement.as_string(cursor) if not isinstance(statement, str) else statement, values
        )
    return cursor.execute(statement, values)


class Tx:
    """One transaction on a psycopg connection, and what is cached for its duration."""

    __slots__ = ("cache", "driver")

    def __init__(self, driver: PgConnection[Any]) -> None:
        self.driver = driver
        self.cache: dict[str, Any] = {}  # e.g. the CRM columns, read once per transaction

    def execute(self, query: Query, params: Params | None = None) -> Cursor[Any]:
        """Run a statement; the cursor (``rowcount``, tuple rows) is returned."""
        return _run(self.driver.cursor(), query, params)

    def rows(self, query: Query, params: Params | None = None) -> list[Any]:
        """All rows, each a named tuple (``row.id``, ``row[0]``, unpacking)."""
        cursor = self.driver.cursor(row_factory=namedtuple_row)
        return _run(cursor, query, params).fetchall()

    def first(self, query: Query, params: Params | None = None) -> Any | None:
        """The first row (a named tuple), or None."""
        cursor = self.driver.cursor(row_factory=namedtuple_row)
        return _run(cursor, query, params).fetchone()

    def one(self, query: Query, params: Params | None = None) -> Any:
        """The one row a statement must return (LookupError otherwise: a bug, not input)."""
        found = self.rows(query, params)
        if len(found) != 1:
            raise LookupError(f"expected one row, the statement returned {len(found)}")
        return found[0]

    def mappings(self, query: Query, params: Params | None = None) -> list[dict[str, Any]]:
        """All rows as dicts, column name -> value."""
        cursor = self.driver.cursor(row_factory=dict_row)
        return _run(cursor, query, params).fetchall()

    def scalars(self, query: Query, params: Params | None = None) -> list[Any]:
        """The first column of every row."""
        return [row[0] for row in self.execute(query, params).fetchall()]

    def scalar(self, query: Query, params: Params | None = None) -> Any:
        """The first column of the first row, or None when there is no row."""
        row = self.execute(query, params).fetchone()
        return None if row is None else row[0]

    def scalar_one(self, query: Query, params: Params | None = None) -> Any:
        """The first column of the one row a statement must return."""
        return self.one(query, params)[0]


# what the run-time functions accept: a Tx, or an SQLAlchemy connection (unwrapped by tx())
Connection = Union[Tx, "SAConnection"]  # noqa: UP007 (a string: SQLAlchemy is not imported)

_TX_KEY = "seqctl.pg.tx"


def tx(conn: Connection) -> Tx:
    """``conn`` as a :class:`Tx`: itself, or an SQLAlchemy connection's psycopg connection.

    An SQLAlchemy connection not yet in a transaction begins one first (as its own
    statements would), so that its ``commit()``/``rollback()`` ends what ran here too. The
    Tx (and its cache) lasts as long as that SQLAlchemy transaction.
    """
    if isinstance(conn, Tx):
        return conn
    transaction = conn.get_transaction()
    if transaction is None:
        transaction = conn.begin()
    cached = conn.info.get(_TX_KEY)
    if cached is not None and cached[0] is transaction:
        found: Tx = cached[1]
        return found
    driver = conn.connection.driver_connection
    if not isinstance(driver, PgConnection):  # pragma: no cover - make_engine uses psycopg
        raise TypeError(f"not a psycopg connection: {type(driver).__name__}")
    made = Tx(driver)
    conn.info[_TX_KEY] = (transaction, made)
    return made

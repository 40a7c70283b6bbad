"""Every statement a block of library code runs, however it runs it: through SQLAlchemy on
an engine, or through :mod:`seqctl.pg` (the run-time layer's psycopg path, issue 10)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, event

from seqctl.pg import observed


@contextlib.contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """(statement, parameters) of each statement run inside the block, in order."""
    found: list[tuple[str, Any]] = []

    def through_sqlalchemy(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        found.append((statement, params))

    def through_psycopg(statement: str, params: dict[str, Any]) -> None:
        found.append((statement, params))

    event.listen(engine, "before_cursor_execute", through_sqlalchemy)
    try:
        with observed(through_psycopg):
            yield found
    finally:
        event.remove(engine, "before_cursor_execute", through_sqlalchemy)

"""The benchmarks' throw-away database: created on a server, dropped afterwards."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

if TYPE_CHECKING:
    from sqlalchemy import Engine

DEFAULT_SERVER = os.environ.get(
    "SEQCTL_BENCH_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextlib.contextmanager
def temporary_database(server: str, label: str) -> Iterator[str]:
    """A new empty database on ``server`` (a URL); yields its URL and drops it after."""
    name = f"seqctl_bench_{label}_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server, name)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def compile_seqctl(enabled: bool = True) -> None:
    """Write seqctl's bytecode before timing, as ``pip install`` does for an installed seqctl.

    A checkout installed in editable mode under ``PYTHONDONTWRITEBYTECODE`` (as on the CI
    machines) would otherwise compile every seqctl module from source in every process,
    which no installed seqctl does (the psycopg of the baseline is installed, compiled).
    ``enabled=False`` (the benchmarks' ``--source``) measures that case.
    """
    if not enabled:
        return
    import compileall
    from pathlib import Path

    import seqctl

    compileall.compile_dir(Path(seqctl.__file__).parent, quiet=1)


@contextlib.contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    """Every statement run inside the block, however seqctl runs it: through SQLAlchemy on
    ``engine``, or through ``seqctl.pg`` (the run-time layer's psycopg path, issue 10)."""
    from sqlalchemy import event

    from seqctl.pg import observed

    found: list[str] = []

    def through_sqlalchemy(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        found.append(statement)

    def through_psycopg(statement: str, _params: dict[str, Any]) -> None:
        found.append(statement)

    event.listen(engine, "before_cursor_execute", through_sqlalchemy)
    try:
        with observed(through_psycopg):
            yield found
    finally:
        event.remove(engine, "before_cursor_execute", through_sqlalchemy)

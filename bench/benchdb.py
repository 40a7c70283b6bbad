"""The benchmarks' throw-away database: created on a server, dropped afterwards."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg

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

"""Running SQL the way a DBA does (psql with ON_ERROR_STOP), and scratch databases for it."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Callable, Iterator

import pytest

from seqctl.db.migrate import revisions

from ..conftest import create_database, drop_database, url_with_database

PSQL = shutil.which("psql")


def revision_points() -> list[str]:
    """base, then every revision from the first to head."""
    return ["base", *(rev for rev, _down, _doc in revisions())]


def psql(url: str, sql: str) -> subprocess.CompletedProcess[str]:
    """``psql -v ON_ERROR_STOP=1 -f -`` with SQL on stdin, as the README tells a DBA to."""
    if PSQL is None:
        pytest.skip("psql is not installed: the offline SQL cannot be run as a DBA would")
    return subprocess.run(
        [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-", url],
        input=sql,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def psql_ok(url: str, sql: str) -> None:
    result = psql(url, sql)
    assert result.returncode == 0, result.stderr


@contextlib.contextmanager
def scratch_databases(server_url: str) -> Iterator[Callable[[], str]]:
    """Makes empty databases (named with the test process's pid); drops them afterwards."""
    made: list[str] = []

    def make() -> str:
        name = create_database(server_url)
        made.append(name)
        return url_with_database(server_url, name)

    try:
        yield make
    finally:
        for name in made:
            drop_database(server_url, name)

"""Test fixtures: a real PostgreSQL for every test that needs one.

The server is, in order: ``SEQCTL_TEST_DATABASE_URL``; PostgreSQL on 127.0.0.1:5432 if it
answers; else the embedded server (the ``embedded`` extra). Each test that asks for
``database_url`` gets a fresh database, cloned from a migrated template database made once
per session; every database the session creates is dropped at the end.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from sqlalchemy import Engine

from seqctl.db.connection import make_engine

ROOT = Path(__file__).resolve().parent.parent
_counter = itertools.count()


def url_with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a server on which the tests may create databases (its ``postgres`` database)."""
    explicit = os.environ.get("SEQCTL_TEST_DATABASE_URL")
    if explicit:
        yield explicit
        return
    local = "postgresql://postgres@127.0.0.1:5432/postgres"
    if _answers(local):
        yield local
        return
    from seqctl.db.embedded import EmbeddedServer

    server = EmbeddedServer(tmp_path_factory.mktemp("embedded") / ".seqctl")
    with server.running() as url:
        yield url


def _admin(server_url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(server_url, autocommit=True)


def create_database(server_url: str, *, template: str | None = None) -> str:
    name = f"seqctl_test_{os.getpid()}_{next(_counter)}"
    with _admin(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def drop_database(server_url: str, name: str) -> None:
    with _admin(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def migrated_template(server_url: str) -> Iterator[str]:
    """A database migrated to head, used as the template of each test database."""
    from seqctl.db.migrate import upgrade

    name = create_database(server_url)
    engine = make_engine(url_with_database(server_url, name))
    with engine.begin() as conn:
        upgrade(conn, "head")
    engine.dispose()
    yield name
    drop_database(server_url, name)


@pytest.fixture
def database_url(server_url: str, migrated_template: str) -> Iterator[str]:
    """A fresh database, migrated to head, dropped after the test."""
    name = create_database(server_url, template=migrated_template)
    yield url_with_database(server_url, name)
    drop_database(server_url, name)


@pytest.fixture
def empty_database_url(server_url: str) -> Iterator[str]:
    """A fresh, empty database (no CRM tables, no migrations), dropped after the test."""
    name = create_database(server_url)
    yield url_with_database(server_url, name)
    drop_database(server_url, name)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def demo_org(engine: Engine) -> str:
    """Loads the demo data; returns the demo organisation's id."""
    from seqctl.db.demo import load_demo

    with engine.begin() as conn:
        return str(load_demo(conn)["organisation_id"])


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting leaks in from the developer's shell or working directory."""
    for var in (
        "SEQCTL_DATABASE_URL",
        "DATABASE_URL",
        "SEQCTL_ORG",
        "SEQCTL_TIMEZONE",
        "SEQCTL_USER",
        "GITHUB_ACTIONS",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Runs ``seqctl ARGS…`` in-process through the real entry point and its exit codes."""
    from seqctl.cli import main

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@contextlib.contextmanager
def raw_connection(url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(url) as conn:
        yield conn


# Modules whose tests take minutes together (real processes racing, psql over every migration
# range, the application's schema built per test, hypothesis over the whole CLI): marked
# `long`, so that the default run stays short; `.ci/run` runs them too (`pytest -m long`).
LONG_MODULES = frozenset(
    {
        "tests/acceptance/test_migrate_instances.py",
        "tests/crm_app/test_app_rendering.py",
        "tests/crm_app/test_app_schema.py",
        "tests/crm_app/test_supabase_safety.py",
        "tests/daily/test_embedded_tool.py",
        "tests/daily/test_help_examples.py",
        "tests/daily/test_readme_tour.py",
        "tests/db/test_db_sql.py",
        "tests/db/test_design_document_sql.py",
        "tests/db/test_downgrade_base_leaves_nothing.py",
        "tests/db/test_migrate_property.py",
        "tests/db/test_report.py",
        "tests/reliability/test_fuzz_cli.py",
        "tests/reliability/test_migrate_races.py",
        "tests/reliability/test_trust_apply_races.py",
        "tests/reliability/test_trust_cli.py",
        "tests/reliability/test_trust_sync.py",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.relative_to(ROOT).as_posix() in LONG_MODULES:
            item.add_marker(pytest.mark.long)

"""The application's own Supabase schema, built from its documented definitions.

``app_before_url``: a database as the application has it before its sequence system (the
Supabase stand-in, the CRM tables with their RLS policies, web-app rows).
``app_sequences_url``: the same plus the application's own sequence tables and policies,
holding a template, an instance and its tasks made by the web app.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ..conftest import create_database, drop_database, url_with_database

HERE = Path(__file__).resolve().parent
BEFORE = ("supabase_standin.sql", "app_crm.sql", "webapp_users.sql")
WITH_SEQUENCES = (*BEFORE, "app_sequences.sql", "webapp_sequences.sql")

ORG_A, ORG_B = "a0000000-0000-4000-8000-00000000000a", "b0000000-0000-4000-8000-00000000000b"
REP, JO, RIVAL = "rep@pumpd.example", "jo@pumpd.example", "rival@rival.example"
BURGER_BARN = "a0000000-0000-4000-8000-0000000000c1"
WEB_TEMPLATE = "a0000000-0000-4000-8000-0000000000f1"
WEB_INSTANCE = "a0000000-0000-4000-8000-0000000000b9"
WEB_TASKS = (
    "a0000000-0000-4000-8000-0000000001aa",
    "a0000000-0000-4000-8000-0000000002aa",
    "a0000000-0000-4000-8000-0000000003aa",
)


def build(server_url: str, files: tuple[str, ...]) -> tuple[str, str]:
    name = create_database(server_url)
    url = url_with_database(server_url, name)
    with psycopg.connect(url, autocommit=True) as conn:
        for file in files:
            conn.execute((HERE / file).read_text(encoding="utf-8"))  # type: ignore[arg-type]
    return name, url


@pytest.fixture
def app_before_url(server_url: str) -> Iterator[str]:
    name, url = build(server_url, BEFORE)
    yield url
    drop_database(server_url, name)


@pytest.fixture
def app_sequences_url(server_url: str) -> Iterator[str]:
    name, url = build(server_url, WITH_SEQUENCES)
    yield url
    drop_database(server_url, name)


def _dump(url: str, *options: str) -> str:
    result = subprocess.run(
        ["pg_dump", "--no-owner", "--exclude-schema=seqctl", *options, "-d", url],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [
        line
        for line in result.stdout.splitlines()
        if line.strip()
        and not line.startswith("--")
        and not line.startswith("SET ")
        and not line.startswith("SELECT pg_catalog.set_config")
        and not line.startswith("\\restrict")
        and not line.startswith("\\unrestrict")
    ]
    return "\n".join(lines)


def schema_dump(url: str) -> str:
    """``pg_dump --schema-only`` without seqctl's own schema, normalised."""
    return _dump(url, "--schema-only")


def data_dump(url: str) -> str:
    """Every row of every table (but seqctl's bookkeeping), as ``pg_dump --data-only``."""
    return _dump(url, "--data-only")

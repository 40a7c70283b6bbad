"""seqctl through a transaction-mode pooler: no prepared statements, no session state."""

from __future__ import annotations

from collections.abc import Callable

from ..conftest import Result

Cli = Callable[..., Result]


def test_pooler_is_in_transaction_mode(pooled_url: str) -> None:
    import psycopg

    with psycopg.connect(pooled_url, prepare_threshold=None, autocommit=True) as conn:
        backends = {conn.execute("SELECT pg_backend_pid()").fetchone() for _ in range(3)}
    assert backends  # reachable; each statement may land on any server connection


def test_migrations_and_demo_through_the_pooler(cli: Cli, pooled_url: str) -> None:
    assert cli("--database-url", pooled_url, "db", "current").stdout.strip() == "004 (head)"
    for _ in range(3):  # repeated runs: no 'prepared statement already exists'
        result = cli("--database-url", pooled_url, "demo")
        assert result.exit_code == 0, result.stderr

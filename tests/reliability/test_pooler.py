"""seqctl through a transaction-mode pooler: no prepared statements, no session state."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from ..conftest import Result
from ..db.sequences_helpers import S, make_template

Cli = Callable[..., Result]


def test_pooler_is_in_transaction_mode(pooled_url: str) -> None:
    import psycopg

    with psycopg.connect(pooled_url, prepare_threshold=None, autocommit=True) as conn:
        backends = {conn.execute("SELECT pg_backend_pid()").fetchone() for _ in range(3)}
    assert backends  # reachable; each statement may land on any server connection


def test_migrations_and_demo_through_the_pooler(cli: Cli, pooled_url: str) -> None:
    assert cli("--database-url", pooled_url, "db", "current").stdout.strip() == "005 (head)"
    for _ in range(3):  # repeated runs: no 'prepared statement already exists'
        result = cli("--database-url", pooled_url, "demo")
        assert result.exit_code == 0, result.stderr


def test_apply_and_progression_through_the_pooler(
    cli: Cli, pooled_url: str, engine: Engine, demo_org: str
) -> None:
    import json

    make_template(engine, demo_org, "Pooled Flow", [S("Call them"), S("Email them", 0, "minutes")])
    base = ("--database-url", pooled_url)
    for _ in range(2):  # the second run finds them already active
        started = cli(
            *base,
            "apply",
            "-t",
            "Pooled Flow",
            "-r",
            "Luigi's Trattoria",
            "-r",
            "Spice Route",
            "--format",
            "json",
        )
        assert started.exit_code == 0, started.stderr
    results = [r["result"] for r in json.loads(started.stdout)["results"]]
    assert results == ["already_active", "already_active"]
    status = json.loads(cli(*base, "status", "--format", "json").stdout)
    instance = status["instances"][0]["id"]
    detail = json.loads(cli(*base, "status", instance, "--format", "json").stdout)
    active = next(s for s in detail["steps"] if s["status"] == "active")
    assert cli(*base, "task", "complete", active["task_id"]).exit_code == 0
    assert cli(*base, "pause", instance).exit_code == 0
    assert cli(*base, "resume", instance).exit_code == 0
    assert cli(*base, "advance").exit_code == 0
    after = json.loads(cli(*base, "status", instance, "--format", "json").stdout)
    assert [s["status"] for s in after["steps"]] == ["completed", "active"]


def test_report_through_the_pooler(
    cli: Cli, pooled_url: str, database_url: str, engine: Engine, demo_org: str
) -> None:
    """The report's second connection imports the first one's snapshot: through a pooler
    each is a transaction on its own server connection, and the figures are the same."""
    import json

    make_template(engine, demo_org, "Pooled Report", [S("Call them"), S("Email them")])
    started = cli(
        "--database-url", database_url, "apply", "-t", "Pooled Report", "-r", "Spice Route"
    )
    assert started.exit_code == 0, started.stderr
    documents = []
    for url in (database_url, pooled_url, pooled_url):
        result = cli("--database-url", url, "report", "--format", "json")
        assert result.exit_code == 0, result.stderr
        document = json.loads(result.stdout)
        del document["generated_at"]
        documents.append(document)
    assert documents[0] == documents[1] == documents[2]
    (pooled,) = [t for t in documents[1]["templates"] if t["name"] == "Pooled Report"]
    assert pooled["started"] == 1 and pooled["steps"][0]["open"] == 1

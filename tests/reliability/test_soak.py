"""Soak variants of the reliability tests: longer and larger. Run with `pytest -m slow`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine, text

from ..conftest import Result
from ..db.sequences_helpers import S, make_template
from .processes import run_all, slow_down_inserts
from .test_hostile_input import documents

pytestmark = pytest.mark.slow
Cli = Callable[..., Result]


def test_repeated_apply_races(
    engine: Engine, demo_org: str, database_url: str, tmp_path: Path
) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO restaurants (organisation_id, name) "
                "SELECT :org, 'Soak ' || g FROM generate_series(1, 500) g"
            ),
            {"org": demo_org},
        )
    listing = tmp_path / "restaurants.txt"
    listing.write_text("".join(f"Soak {i}\n" for i in range(1, 501)))
    slow_down_inserts(database_url, "sequence_instances", 0.2)
    for round_ in range(5):
        name = f"Soak Flow {round_}"
        make_template(engine, demo_org, name, [S("Call"), S("Mail", 1), S("Visit", 2)])
        command = [
            "--database-url",
            database_url,
            "apply",
            "-t",
            name,
            "--restaurants-file",
            str(listing),
        ]
        results = run_all([command] * 8, timeout=300)
        assert all(code == 0 for code, _, _ in results), [e for _, _, e in results]
    with engine.connect() as conn:
        duplicates = conn.execute(
            text(
                "SELECT count(*) FROM (SELECT 1 FROM sequence_instances "
                "GROUP BY sequence_template_id, restaurant_id HAVING count(*) > 1) d"
            )
        ).scalar()
        instances = conn.execute(text("SELECT count(*) FROM sequence_instances")).scalar()
        tasks = conn.execute(text("SELECT count(*) FROM tasks")).scalar()
    assert duplicates == 0
    assert instances == 5 * 500
    assert tasks == 3 * instances


@settings(
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(document=documents)
def test_ten_thousand_generated_documents(cli: Cli, tmp_path: Path, document: object) -> None:
    path = tmp_path / "generated.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    result = cli("validate", "--format", "json", str(path))
    assert result.exit_code in (0, 1) and result.stderr == ""
    assert json.loads(result.stdout)["valid"] is (result.exit_code == 0)

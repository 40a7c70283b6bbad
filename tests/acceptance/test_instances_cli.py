"""The instance commands through the real entry point: output, exit codes, JSON shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from ..conftest import Result
from ..db.sequences_helpers import LUIGI, SAKURA, S, make_template, tasks_of

Cli = Callable[..., Result]

STEPS = [
    S("Intro call", 0, custom_message="Hi {first_name} at {restaurant_name} {unknown_var}"),
    S("Send menu", 2, "hours", custom_message="Call {contact_phone}"),
    S("Check in", 1, "days"),
]


@pytest.fixture
def seq(database_url: str, engine: Engine, demo_org: str, cli: Cli) -> Callable[..., Result]:
    make_template(engine, demo_org, "Restaurant Onboarding", STEPS, key="onboarding")

    def run(*args: str) -> Result:
        return cli("--database-url", database_url, *args)

    return run


def as_json(result: Result) -> dict[str, Any]:
    document = json.loads(result.stdout)
    assert document["format_version"] == "1"
    return dict(document)


def test_apply_then_again(seq: Callable[..., Result]) -> None:
    first = seq("apply", "-t", "onboarding", "-r", "Luigi's Trattoria", "-r", SAKURA)
    assert first.exit_code == 0, first.stderr
    assert "started" in first.stdout and "Luigi's Trattoria" in first.stdout
    assert "Restaurant Onboarding (3 steps): 2 started, 0 already active" in first.stdout
    again = seq("apply", "-t", "onboarding", "-r", LUIGI, "--format", "json")
    assert again.exit_code == 0
    document = as_json(again)
    assert document["results"][0]["result"] == "already_active"
    assert document["summary"]["already_active"] == 1


def test_apply_unknown_restaurants_fails_listing_all(seq: Callable[..., Result]) -> None:
    result = seq(
        "apply",
        "-t",
        "onboarding",
        "-r",
        "Nowhere",
        "-r",
        "Luigi's Trattoria",
        "-r",
        "Gone",
        "--format",
        "json",
    )
    assert result.exit_code == 1
    assert "no restaurant 'Nowhere'" in result.stderr and "no restaurant 'Gone'" in result.stderr
    results = {r["ref"]: r["result"] for r in as_json(result)["results"]}
    assert results == {
        "Nowhere": "restaurant_not_found",
        "Luigi's Trattoria": "resolved",
        "Gone": "restaurant_not_found",
    }
    status = seq("status", "--format", "json")
    assert as_json(status)["summary"]["total"] == 0


def test_apply_refuses_inactive_template(seq: Callable[..., Result], engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE sequence_templates SET is_active = false"))
    result = seq("apply", "-t", "Restaurant Onboarding", "-r", LUIGI)
    assert result.exit_code == 1
    assert "is inactive; it cannot be started" in result.stderr


def test_apply_dry_run_and_restaurants_file(seq: Callable[..., Result], tmp_path: Path) -> None:
    listing = tmp_path / "leads.txt"
    listing.write_text("# leads\nSakura Sushi Bar\n\nEl Fogón\n", encoding="utf-8")
    result = seq("apply", "-t", "onboarding", "--restaurants-file", str(listing), "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert 'would start "Restaurant Onboarding - Sakura Sushi Bar - ' in result.stdout
    assert "| Hi Yuki at Sakura Sushi Bar {unknown_var}" in result.stdout
    assert "variables that render empty: contact_phone" in result.stdout
    assert "2 would start" in result.stdout and "nothing was written" in result.stdout
    document = as_json(
        seq(
            "apply",
            "-t",
            "onboarding",
            "--restaurants-file",
            str(listing),
            "--dry-run",
            "--format",
            "json",
        )
    )
    assert document["dry_run"] is True
    assert document["instances"][0]["empty_variables"] == ["contact_phone"]
    assert as_json(seq("status", "--format", "json"))["summary"]["total"] == 0


def test_status_list_and_detail(seq: Callable[..., Result]) -> None:
    seq("apply", "-t", "onboarding", "-r", LUIGI, "-r", SAKURA)
    listing = seq("status")
    assert listing.exit_code == 0
    assert "INSTANCE" in listing.stdout and "1/3" in listing.stdout and "0%" in listing.stdout
    assert "active: 2" in listing.stdout and "paused: 0" in listing.stdout
    # step 1 was due at start: due, but overdue only after the grace period (spec §8)
    assert "OVERDUE" not in listing.stdout and "(2 due, 0 overdue)" in listing.stdout
    assert "OVERDUE" in seq("status", "--overdue-after", "0").stdout
    document = as_json(seq("status", "--restaurant", "Luigi's Trattoria", "--format", "json"))
    [row] = document["instances"]
    assert (row["restaurant"], row["current_step"], row["total_steps"], row["percentage"]) == (
        "Luigi's Trattoria",
        1,
        3,
        0,
    )
    assert row["overdue"] is False and row["due"] is True and document["summary"]["active"] == 1
    detail = seq("status", row["id"])
    assert detail.exit_code == 0
    assert "Intro call" in detail.stdout and "Check in" in detail.stdout
    assert "Hi Luigi at Luigi's Trattoria {unknown_var}" in detail.stdout
    detail_json = as_json(seq("status", row["id"], "--format", "json"))
    assert [s["status"] for s in detail_json["steps"]] == ["active", "pending", "pending"]


def test_lifecycle_and_tasks(seq: Callable[..., Result], engine: Engine) -> None:
    started = as_json(seq("apply", "-t", "onboarding", "-r", LUIGI, "--format", "json"))
    iid = started["results"][0]["instance_id"]
    t1, t2, _ = (t["id"] for t in tasks_of(engine, iid))
    done = seq("task", "complete", t1)
    assert done.exit_code == 0 and f"completed task {t1[:8]}" in done.stdout  # short id (§8)
    assert "step 2 active" in done.stdout
    again = seq("task", "complete", t1)
    assert again.exit_code == 0 and "already completed; nothing to do" in again.stdout
    assert seq("pause", iid).exit_code == 0
    paused_again = seq("pause", iid)
    assert paused_again.exit_code == 1
    assert f"instance {iid}" in paused_again.stderr
    assert "is paused; only active instances can be paused" in paused_again.stderr
    skipped = seq("task", "skip", t2, "--format", "json")
    assert as_json(skipped)["tasks"][0]["instance_status"] == "paused"
    resumed = seq("resume", iid)
    assert resumed.exit_code == 0 and "step 3 active" in resumed.stdout
    assert seq("advance").exit_code == 0
    finished = as_json(seq("finish", iid, "--format", "json"))
    assert finished["instances"][0]["to"] == "completed"
    refused = seq("cancel", iid)
    assert refused.exit_code == 1
    assert "is completed; only active or paused instances can be cancelled" in refused.stderr
    assert [t["status"] for t in tasks_of(engine, iid)] == ["completed", "cancelled", "completed"]


def test_advance_json_and_usage_errors(seq: Callable[..., Result]) -> None:
    document = as_json(seq("advance", "--all-organisations", "--format", "json"))
    assert document["moves"] == []
    assert seq("pause", "not-a-uuid").exit_code == 64
    assert seq("task", "complete").exit_code == 64
    assert seq("apply", "-t", "onboarding").exit_code == 64
    missing = seq("task", "complete", "00000000-0000-0000-0000-000000000001")
    assert missing.exit_code == 1 and "no task" in missing.stderr


def test_timezone_flag_sets_the_instance_date(
    database_url: str, engine: Engine, demo_org: str, cli: Cli
) -> None:
    make_template(engine, demo_org, "Tz template", [S("First step")])
    result = cli(
        "--database-url",
        database_url,
        "--timezone",
        "Pacific/Kiritimati",
        "apply",
        "-t",
        "Tz template",
        "-r",
        LUIGI,
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    with engine.connect() as conn:
        name, local_day = conn.execute(
            text(
                "SELECT name, (now() AT TIME ZONE 'Pacific/Kiritimati')::date::text"
                " FROM sequence_instances"
            )
        ).one()
    assert name.endswith(local_day)


def test_no_progress_bar_off_a_terminal(
    seq: Callable[..., Result], engine: Engine, demo_org: str
) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO restaurants (organisation_id, name) SELECT :o, 'Bulk ' || g"
                " FROM generate_series(1, 30) g"
            ),
            {"o": demo_org},
        )
    args = [a for g in range(1, 31) for a in ("-r", f"Bulk {g}")]
    result = seq("apply", "-t", "onboarding", *args)
    assert result.exit_code == 0 and "30 started" in result.stdout
    assert "starting" not in result.stderr and "━" not in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["apply"],
        ["status"],
        ["pause"],
        ["resume"],
        ["cancel"],
        ["finish"],
        ["advance"],
        ["task"],
        ["task", "complete"],
        ["task", "skip"],
    ],
)
def test_every_command_has_help(cli: Cli, command: list[str]) -> None:
    result = cli(*command, "--help")
    assert result.exit_code == 0
    assert len(result.stdout.split("Usage:")[1].strip().splitlines()) > 2

"""Short ids (spec §8): unique prefixes of ≥ 6 hex digits on every id a command takes;
ambiguous prefixes list the candidates; organisation-scoped; text shows 8 digits, JSON full."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, text

from seqctl.short_ids import parse_prefix

from ..conftest import Result
from ..db.sequences_helpers import LUIGI, SAKURA, SAM, S, make_template, tasks_of

Cli = Callable[..., Result]


@pytest.fixture
def seq(database_url: str, engine: Engine, demo_org: str, cli: Cli) -> Cli:
    make_template(engine, demo_org, "Onboarding", [S("Call"), S("Mail", 2), S("Visit", 3)])

    def run(*args: str) -> Result:
        return cli("--database-url", database_url, *args)

    return run


def as_json(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_parse_prefix() -> None:
    assert parse_prefix("6cd7c5") == (
        "6cd7c500-0000-0000-0000-000000000000",
        "6cd7c5ff-ffff-ffff-ffff-ffffffffffff",
    )
    assert parse_prefix("6CD7C592-1A") == parse_prefix("6cd7c5921a")
    assert parse_prefix("6cd7c") is None  # too short
    assert parse_prefix("restaurant") is None  # not hex
    assert parse_prefix("6cd7c592-1111-2222-3333-444455556666") is None  # a full UUID


def test_instances_and_tasks_by_short_id(seq: Cli, engine: Engine) -> None:
    started = as_json(seq("apply", "-t", "Onboarding", "-r", LUIGI, "--format", "json"))
    iid = started["results"][0]["instance_id"]
    assert len(iid) == 36  # JSON keeps full UUIDs
    listing = seq("status")
    assert iid[:8] in listing.stdout and iid not in listing.stdout
    detail = seq("status", iid[:8])
    assert detail.exit_code == 0, detail.stderr
    assert "Call" in detail.stdout
    first = tasks_of(engine, iid)[0]["id"]
    done = seq("task", "complete", first[:6].upper())
    assert done.exit_code == 0, done.stderr
    assert f"completed task {first[:8]} (Call)" in done.stdout
    # a prefix with the UUID's dash, as copied from a full id
    assert seq("pause", iid[:13]).exit_code == 0
    assert seq("resume", f"{iid[:8]}").exit_code == 0
    assert as_json(seq("status", iid[:7], "--format", "json"))["instance"]["id"] == iid


def _restaurant(engine: Engine, org: str, rid: str, name: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO restaurants (id, organisation_id, name) VALUES (:id, :org, :n)"),
            {"id": rid, "org": org, "n": name},
        )


def test_ambiguous_prefix_lists_candidates(seq: Cli, engine: Engine, demo_org: str) -> None:
    _restaurant(engine, demo_org, "abcdef01-0000-4000-8000-000000000001", "Twin One")
    _restaurant(engine, demo_org, "abcdef02-0000-4000-8000-000000000002", "Twin Two")
    result = seq("status", "--restaurant", "abcdef")
    assert result.exit_code == 64
    assert "ambiguous" in result.stderr
    assert "Twin One" in result.stderr and "Twin Two" in result.stderr
    assert "abcdef01-0000-4000-8000-000000000001" in result.stderr
    # one more digit is unique: apply by short id
    started = seq("apply", "-t", "Onboarding", "-r", "abcdef01", "--format", "json")
    assert as_json(started)["results"][0]["restaurant"] == "Twin One"


def test_prefixes_are_scoped_to_the_organisation(seq: Cli, engine: Engine) -> None:
    with engine.begin() as conn:
        other = conn.execute(
            text(
                "INSERT INTO organisations (id, name) VALUES (gen_random_uuid(), 'Other Org')"
                " RETURNING id::text"
            )
        ).scalar_one()
    _restaurant(engine, other, "fedcba01-0000-4000-8000-000000000001", "Elsewhere")
    result = seq("--org", "Demo Restaurant Group", "status", "--restaurant", "fedcba01")
    assert result.exit_code == 1
    assert "Elsewhere" not in result.stderr


def test_templates_and_users_by_short_id(seq: Cli, engine: Engine, demo_org: str) -> None:
    with engine.connect() as conn:
        tid = conn.execute(
            text("SELECT id::text FROM sequence_templates WHERE name = 'Onboarding'")
        ).scalar_one()
    started = seq("apply", "-t", tid[:8], "-r", SAKURA, "--assign-to", SAM[:8], "--format", "json")
    document = as_json(started)
    assert document["template"]["id"] == tid
    listing = as_json(seq("status", "--assigned-to", SAM[:6], "--format", "json"))
    assert [r["assigned_to"] for r in listing["instances"]] == [SAM]


def test_not_an_id_names_the_forms(seq: Cli) -> None:
    result = seq("pause", "xyz")
    assert result.exit_code == 64
    assert "prefix of at least 6 hex digits" in result.stderr
    missing = seq("pause", "000000")
    assert missing.exit_code == 1
    assert "no instance with an id starting '000000'" in missing.stderr

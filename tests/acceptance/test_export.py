"""`seqctl export`: the organisation's templates as v1 YAML, and the round trip
export -> validate -> sync --adopt -> plan shows no changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine

from seqctl.db.demo import demo_id
from seqctl.sync.export import SCHEMA_COMMENT, slugify

from .sync_helpers import (
    Run,
    insert_unmanaged,
    ok,
    templates,
    write_template,
)


@pytest.fixture
def web_app_templates(engine: Engine, demo_org: str) -> dict[str, str]:
    """Templates made in the web app: every column used, gaps in step_order, odd names."""
    return {
        "cafe": insert_unmanaged(
            engine,
            demo_org,
            "Café Reopening: Phase #2",
            description="Line one\nline two",
            tags=["reopening", "yes"],
            is_active=False,
            metadata={"owner": "ops", "n": 1.5},
            steps=[
                {
                    "step_order": 1,
                    "name": "Call the owner",
                    "type": "call",
                    "priority": "high",
                    "task_template_id": demo_id("task_template", "Intro call script"),
                },
                {
                    "step_order": 3,
                    "name": "Send the menu",
                    "type": "email",
                    "delay_value": 36,
                    "delay_unit": "hours",
                    "description": "",
                    "message_template_id": demo_id("message_template", "Welcome email"),
                    "metadata": {"channel": "mail"},
                },
                {
                    "step_order": 7,
                    "name": "Text: follow up",
                    "type": "text",
                    "priority": "low",
                    "custom_message": "Hi {first_name},\n\nno: 1:30 yes\n",
                    "delay_value": 0,
                },
            ],
        ),
        "follow-up": insert_unmanaged(
            engine, demo_org, "Follow up", [{"name": "Call", "type": "call"}]
        ),
        "follow-up-2": insert_unmanaged(
            engine, demo_org, "Follow-up!", [{"name": "Text", "type": "text"}]
        ),
    }


def test_export_round_trip(run: Run, engine: Engine, web_app_templates: dict[str, str]) -> None:
    write_template("managed-one", "Managed one")
    ok(run("sync"))
    result = ok(run("export", "--out", "exported"))
    files = sorted(p.name for p in Path("exported").iterdir())
    assert files == [
        "cafe-reopening-phase-2.yaml",
        "follow-up-2.yaml",
        "follow-up.yaml",
        "managed-one.yaml",
    ]
    assert "unmanaged: adopt with `seqctl sync --adopt`" in result.stdout
    cafe = Path("exported/cafe-reopening-phase-2.yaml").read_text(encoding="utf-8")
    assert cafe.splitlines()[0] == SCHEMA_COMMENT
    document = yaml.safe_load(cafe)
    assert document["key"] == "cafe-reopening-phase-2" and document["is_active"] is False
    assert document["tags"] == ["reopening", "yes"]
    assert document["steps"][0] == {
        "name": "Call the owner",
        "type": "call",
        "priority": "high",
        "task_template": "Intro call script",
    }
    assert document["steps"][1]["message_template"] == "Welcome email"
    assert "delay_unit" not in document["steps"][2] and "priority" not in document["steps"][1]
    assert "custom_message: |" in cafe  # multi-line strings as literal blocks

    ok(run("validate", "exported"))
    adopted = ok(run("sync", "--adopt", "exported"))
    assert "Applied: 0 created, 4 updated" in adopted.stdout
    rows = templates(engine)
    for key, template_id in web_app_templates.items():
        matching = [r for k, r in rows.items() if k.startswith(key[:9]) and r["id"] == template_id]
        assert matching, key  # adopted in place
    cafe_steps = rows["cafe-reopening-phase-2"]["steps"]
    assert [s["step_order"] for s in cafe_steps] == [1, 2, 3]
    ok(run("plan", "exported", "--detailed-exitcode"))

    again = json.loads(ok(run("export", "--out", "exported", "--format", "json")).stdout)
    assert all(not f["written"] and f["managed"] for f in again["files"])


def test_export_refuses_to_overwrite_a_different_file(
    run: Run, web_app_templates: dict[str, str]
) -> None:
    target = Path("exported")
    target.mkdir()
    (target / "follow-up.yaml").write_text("name: mine\n")
    refused = ok(run("export", "--out", "exported"), 1)
    assert "--force" in refused.stderr
    assert (target / "follow-up.yaml").read_text() == "name: mine\n"
    assert sorted(p.name for p in target.iterdir()) == ["follow-up.yaml"]
    ok(run("export", "--out", "exported", "--force"))
    assert "Follow up" in (target / "follow-up.yaml").read_text()


def test_duplicate_unmanaged_names_are_flagged(run: Run, engine: Engine, demo_org: str) -> None:
    for _ in range(2):
        insert_unmanaged(engine, demo_org, "Twin", [{"name": "Call", "type": "call"}])
    result = ok(run("export", "--out", "exported"))
    assert "2 unmanaged templates are named 'Twin'" in result.stderr
    assert sorted(p.name for p in Path("exported").iterdir()) == ["twin-2.yaml", "twin.yaml"]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Restaurant Onboarding", "restaurant-onboarding"),
        ("Café  crème!", "cafe-creme"),
        ("***", "template"),
        ("x" * 100, "x" * 63),
        ("_lead", "lead"),
    ],
)
def test_slugify(name: str, key: str) -> None:
    assert slugify(name) == key

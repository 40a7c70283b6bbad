"""Text and markdown plans show 8-digit short ids, JSON the full UUIDs (spec §8): the
organisation, and a step's task or message template where the plan names it by id."""

from __future__ import annotations

import json

from seqctl.sync.plan import FieldChange, Plan, StepChange, TemplateChange
from seqctl.sync.plan_formats import render_json, render_markdown, render_text
from seqctl.templates.spec import Organisation

ORG = "69fe1960-1461-5d1e-a551-e2117687eb84"
GONE = "5d2c81aa-0000-4000-8000-000000000001"  # a task template no longer in the organisation


def _plan() -> Plan:
    step = StepChange(
        "update",
        2,
        2,
        "Intro call",
        step_id="00000000-0000-4000-8000-000000000002",
        fields=(FieldChange("task_template", GONE, "Intro call script"),),
    )
    change = TemplateChange(
        "update", "onboarding", "Onboarding", template_id=ORG, steps=(step,), source="s.yaml"
    )
    return Plan(Organisation(ORG, "Demo Restaurant Group"), "f", changes=(change,))


def test_text_shows_short_ids() -> None:
    text = render_text(_plan())
    assert text.splitlines()[0] == "Organisation: Demo Restaurant Group (69fe1960)"
    assert 'task_template: "5d2c81aa" -> "Intro call script"' in text
    assert ORG not in text and GONE not in text


def test_markdown_shows_short_ids_and_json_full_ones() -> None:
    markdown = render_markdown(_plan())
    assert "| task_template | 5d2c81aa | Intro call script |" in markdown
    assert GONE not in markdown
    document = json.loads(render_json(_plan()))
    assert GONE in json.dumps(document) and document["organisation"]["id"] == ORG

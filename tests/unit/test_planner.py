"""The planner, pure: TemplateSpec objects against an in-memory ActualState."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import pytest

from seqctl.errors import Conflict, InvalidInput, Refused
from seqctl.runtime.lookup import Organisation
from seqctl.sync.actual import STEP_FIELDS, ActualState, ActualStep, ActualTemplate, Reference
from seqctl.sync.diff import build_plan
from seqctl.sync.plan import Plan, PlanOptions, plan_from_document, plan_to_document
from seqctl.sync.plan_formats import RENDERERS
from seqctl.templates.spec import Location, StepSpec, TemplateSpec

ORG = Organisation("00000000-0000-4000-8000-000000000001", "Acme")
NOW = 1_735_689_600_000_000  # updated_at, µs since the epoch
TASKS = (
    Reference("00000000-0000-4000-8000-0000000000a1", "Intro call script"),
    Reference("00000000-0000-4000-8000-0000000000a2", "Twin"),
    Reference("00000000-0000-4000-8000-0000000000a3", "Twin"),
)
MESSAGES = (Reference("00000000-0000-4000-8000-0000000000b1", "Welcome email"),)


def spec(
    key: str = "onboarding", name: str = "Onboarding", steps: list[Any] | None = None, **kwargs: Any
) -> TemplateSpec:
    """A template; steps as names, (name, delay) pairs or StepSpec keyword dicts."""
    made = []
    for index, step in enumerate(steps or ["Intro call", "Send menu", "Demo call"]):
        if isinstance(step, str):
            step = {"name": step}
        elif isinstance(step, tuple):
            step = {"name": step[0], "delay_value": step[1]}
        made.append(StepSpec(step_order=index + 1, **{"type": "call", **step}))
    file = f"sequences/{key}.yaml"
    locations = {"$": Location(file, 2, 1), "$.name": Location(file, 3, 7)}
    for index in range(len(made)):
        locations[f"$.steps[{index}]"] = Location(file, 10 + 5 * index, 5)
        locations[f"$.steps[{index}].task_template"] = Location(file, 12 + 5 * index, 20)
    return TemplateSpec(
        key=key, name=name, steps=tuple(made), source=file, locations=locations, **kwargs
    )


def state(*templates: ActualTemplate) -> ActualState:
    return ActualState(ORG, templates, TASKS, MESSAGES)


def synced(*specs: TemplateSpec, instances: dict[str, int] | None = None) -> list[ActualTemplate]:
    """The rows a sync of ``specs`` into an empty organisation would have written."""
    plan = build_plan(specs, state())
    rows = []
    for change in plan.changes:
        assert change.row is not None
        steps = tuple(
            ActualStep(
                str(uuid.uuid4()), s.step_order, {f: (s.row or {})[f] for f in STEP_FIELDS}, NOW
            )
            for s in change.steps
        )
        rows.append(
            ActualTemplate(
                str(uuid.uuid4()), json.loads(json.dumps(change.row)), steps, NOW, instances or {}
            )
        )
    return rows


def unmanaged(name: str) -> ActualTemplate:
    row: dict[str, Any] = {
        "name": name,
        "description": None,
        "tags": [],
        "is_active": True,
        "metadata": {},
    }
    return ActualTemplate(str(uuid.uuid4()), row, (), NOW)


def edit(template: ActualTemplate, **fields: Any) -> ActualTemplate:
    return dataclasses.replace(template, row={**template.row, **fields})


def edit_step(template: ActualTemplate, order: int, **fields: Any) -> ActualTemplate:
    steps = tuple(
        dataclasses.replace(s, row={**s.row, **fields}) if s.step_order == order else s
        for s in template.steps
    )
    return dataclasses.replace(template, steps=steps)


def test_first_plan_creates_with_bookkeeping() -> None:
    plan = build_plan([spec()], state())
    assert plan.counts() == {"create": 1, "update": 0, "deactivate": 0, "delete": 0}
    change = plan.changes[0]
    assert change.kind == "create"
    assert change.location == Location("sequences/onboarding.yaml", 2, 1)
    assert [s.kind for s in change.steps] == ["create"] * 3
    seqctl = change.row["metadata"]["seqctl"]  # type: ignore[index]
    assert seqctl["key"] == "onboarding" and seqctl["source"] == "sequences/onboarding.yaml"
    assert seqctl["digest"].startswith("sha256:")


def test_synced_state_has_no_changes() -> None:
    templates = [
        spec(),
        spec("other", "Other", [{"name": "Check in", "task_template": "Intro call script"}]),
    ]
    plan = build_plan(templates, state(*synced(*templates)))
    assert not plan.has_changes and plan.unchanged == 2


def test_rename_and_step_field() -> None:
    [row] = synced(spec())
    plan = build_plan(
        [spec(name="Renamed", steps=["Intro call", ("Send menu", 3), "Demo call"])], state(row)
    )
    [change] = plan.changes
    assert change.kind == "update" and not change.drift
    assert [(f.field, f.old, f.new) for f in change.fields] == [("name", "Onboarding", "Renamed")]
    [step] = change.steps
    assert (step.kind, step.step_order, step.step_id) == ("update", 2, row.steps[1].id)
    assert [(f.field, f.old, f.new) for f in step.fields] == [("delay_value", 0, 3)]


def test_reorder_is_three_moves() -> None:
    [row] = synced(spec())
    plan = build_plan([spec(steps=["Demo call", "Intro call", "Send menu"])], state(row))
    moves = {(s.old_step_order, s.step_order, s.kind) for s in plan.changes[0].steps}
    assert moves == {(3, 1, "move"), (1, 2, "move"), (2, 3, "move")}


def test_insert_in_the_middle_and_remove_last() -> None:
    [row] = synced(spec())
    plan = build_plan([spec(steps=["Intro call", "New one", "Send menu", "Demo call"])], state(row))
    kinds = [(s.kind, s.old_step_order, s.step_order) for s in plan.changes[0].steps]
    assert kinds == [("create", None, 2), ("move", 2, 3), ("move", 3, 4)]
    plan = build_plan([spec(steps=["Intro call", "Send menu"])], state(row))
    assert [(s.kind, s.step_order) for s in plan.changes[0].steps] == [("delete", 3)]


def test_removed_file_deactivates_then_prune_deletes() -> None:
    [row] = synced(spec())
    plan = build_plan([], state(row))
    [change] = plan.changes
    assert change.kind == "deactivate" and change.row["is_active"] is False  # type: ignore[index]
    assert change.source == "sequences/onboarding.yaml" and change.location is None
    inactive = edit(row, is_active=False)
    assert not build_plan([], state(inactive)).has_changes
    pruned = build_plan([], state(row), PlanOptions(prune=True, allow_empty=True))
    assert [c.kind for c in pruned.changes] == ["delete"]


def test_prune_with_instances_is_blocked_and_empty_prune_refused() -> None:
    [row] = synced(spec(), instances={"completed": 1})
    plan = build_plan([spec("other", "Other")], state(row), PlanOptions(prune=True))
    assert [c.key for c in plan.blocked] == ["onboarding"]
    assert [c.kind for c in plan.changes] == ["create"]
    with pytest.raises(Refused, match="--prune with no template files"):
        build_plan([], state(row), PlanOptions(prune=True))


def test_re_added_file_reactivates() -> None:
    [row] = synced(spec())
    deactivated = build_plan([], state(row)).changes[0]
    inactive = dataclasses.replace(row, row=json.loads(json.dumps(deactivated.row)))
    plan = build_plan([spec()], state(inactive))
    [change] = plan.changes
    assert change.kind == "reactivate" and not change.drift
    assert [(f.field, f.new) for f in change.fields] == [("is_active", True)]


def test_drift_is_detected_and_undone() -> None:
    [row] = synced(spec())
    drifted = edit_step(row, 1, name="Edited in the web app")
    plan = build_plan([spec()], state(drifted))
    [change] = plan.changes
    assert change.drift and change.steps[0].fields[0].old == "Edited in the web app"
    assert not build_plan([spec()], state(row)).changes


def test_impact_counts_running_instances() -> None:
    [row] = synced(spec(), instances={"active": 2, "paused": 1, "completed": 4})
    change = build_plan([spec(name="Renamed")], state(row)).changes[0]
    assert (change.impact.active, change.impact.paused) == (2, 1)
    assert "unaffected" in RENDERERS["text"](
        build_plan([spec(name="Renamed")], state(row)), False, False
    )


def test_unmanaged_name_collision_needs_adopt() -> None:
    other = unmanaged("Onboarding")
    with pytest.raises(InvalidInput, match=r"sequences/onboarding.yaml:3:7: an unmanaged") as info:
        build_plan([spec()], state(other))
    assert "--adopt" in (info.value.hint or "")
    plan = build_plan([spec()], state(other), PlanOptions(adopt=True))
    [change] = plan.changes
    assert (change.kind, change.template_id) == ("adopt", other.id)
    assert [s.kind for s in change.steps] == ["create"] * 3 and plan.unmanaged == 0


def test_unmanaged_templates_are_left_alone() -> None:
    plan = build_plan([spec()], state(unmanaged("Made in the web app")))
    assert [c.kind for c in plan.changes] == ["create"] and plan.unmanaged == 1


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("Intro cal script", "unknown task template 'Intro cal script'"),
        ("Twin", "2 task templates are named 'Twin'"),
        ("00000000-0000-4000-8000-0000000000ff", "no task template with id"),
    ],
)
def test_unresolvable_references_point_at_the_file(ref: str, message: str) -> None:
    bad = spec(steps=["Intro call", {"name": "Menu", "task_template": ref}])
    with pytest.raises(InvalidInput) as info:
        build_plan([bad], state())
    assert info.value.message.startswith("sequences/onboarding.yaml:17:20: " + message)


def test_references_by_name_or_uuid() -> None:
    by_name = spec(
        steps=[
            {
                "name": "Call",
                "task_template": "Intro call script",
                "message_template": "Welcome email",
            }
        ]
    )
    by_id = spec(
        steps=[
            {
                "name": "Call",
                "task_template": TASKS[0].id.upper(),
                "message_template": MESSAGES[0].id,
            }
        ]
    )
    rows = [build_plan([s], state()).changes[0].steps[0].row for s in (by_name, by_id)]
    assert rows[0] == rows[1]
    assert rows[0]["task_template_id"] == TASKS[0].id  # type: ignore[index]


def test_two_rows_with_one_key_conflict() -> None:
    [row] = synced(spec())
    with pytest.raises(Conflict, match="both carry the seqctl key"):
        build_plan([spec()], state(row, dataclasses.replace(row, id=str(uuid.uuid4()))))


def test_metadata_postgres_cannot_store() -> None:
    with pytest.raises(InvalidInput, match="metadata cannot be stored"):
        build_plan([spec(metadata={"x": float("nan")})], state())


def test_plan_round_trips_through_json() -> None:
    [row] = synced(spec(), instances={"active": 1})
    plan = build_plan(
        [
            spec(name="Renamed", steps=["Demo call", "Intro call", ("New", 2)]),
            spec("new", "New one"),
        ],
        state(row),
    )
    document = json.loads(json.dumps(plan_to_document(plan)))
    again = plan_from_document(document)
    assert again == dataclasses.replace(plan, blocked=())


def test_markdown_summary_first_line_and_formats() -> None:
    [row] = synced(spec())
    plan = build_plan([spec(name="A | <b>"), spec("new", "New")], state(row))
    markdown = RENDERERS["markdown"](plan, False, False)
    assert markdown.splitlines()[0] == (
        "Plan: 1 to create, 1 to update, 0 to deactivate, 0 to delete"
    )
    assert markdown.count("<details>") == 2 and "&lt;b&gt;" in markdown and "A &#124;" in markdown
    assert "\x1b[" not in RENDERERS["text"](plan, False, False)
    assert "\x1b[" in RENDERERS["text"](plan, False, True)


def test_empty_plan_renders() -> None:
    plan = Plan(ORG, "sha256:" + "0" * 64)
    assert "No changes" in RENDERERS["text"](plan, False, False)
    assert RENDERERS["markdown"](plan, False, False).startswith("Plan: 0 to create")


def test_format_choices_are_the_renderers() -> None:
    from seqctl.cli.sync_commands import PlanFormat

    assert {f.value for f in PlanFormat} == set(RENDERERS)


def test_renamed_step_is_updated_in_place_unrelated_one_replaced() -> None:
    [row] = synced(spec())
    plan = build_plan(
        [spec(steps=["Brand new", "Intro call", "Send menu", "Demo calls"])], state(row)
    )
    steps = {s.name: s for s in plan.changes[0].steps}
    renamed = steps["Demo calls"]
    assert (renamed.kind, renamed.step_id, renamed.old_step_order) == ("update", row.steps[2].id, 3)
    assert [f.field for f in renamed.fields] == ["step_order", "name"]
    assert steps["Brand new"].kind == "create"
    plan = build_plan([spec(steps=["Intro call", "Send menu", "Completely different"])], state(row))
    [changed] = plan.changes[0].steps
    assert (changed.kind, changed.step_order) == ("update", 3)  # same position: in place

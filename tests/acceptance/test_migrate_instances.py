"""`seqctl migrate` (spec §9): every rule at the first, a middle and the last step, active
and paused, against the real database."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, text

from .migrate_helpers import (
    active_names,
    advance,
    check_orders,
    do_pause,
    history,
    instance_row,
    pending_names,
    start,
    steps_of,
    tasks,
)
from .sync_helpers import Run, write_template

OLD = ["Step A", "Step B", "Step C", "Step D", "Step E"]
POSITIONS = {"first": 0, "middle": 2, "last": 4}  # tasks completed before the migration
LUIGI = "Luigi's Trattoria"

# edit -> (new step names, expected pending per position, whether the active step survives)
EDITS: dict[str, tuple[list[str], dict[str, list[str]]]] = {
    "add_end": (
        [*OLD, "Step F"],
        {
            "first": OLD[1:] + ["Step F"],
            "middle": ["Step D", "Step E", "Step F"],
            "last": ["Step F"],
        },
    ),
    "remove_middle": (
        ["Step A", "Step B", "Step C", "Step E"],
        {"first": ["Step B", "Step C", "Step E"], "middle": ["Step E"], "last": []},
    ),
    "insert_before": (
        ["Step X", *OLD],
        {"first": OLD[1:], "middle": ["Step D", "Step E"], "last": []},
    ),
    "move_past": (
        ["Step E", "Step A", "Step B", "Step C", "Step D"],
        {"first": ["Step B", "Step C", "Step D"], "middle": ["Step D"], "last": []},
    ),
}


def _setup(
    run: Run, engine: Engine, org: str, position: str, paused: bool
) -> tuple[str, list[str]]:
    instance_id = start(run, engine, "onb", steps_of(OLD), LUIGI)
    advance(engine, org, instance_id, POSITIONS[position])
    if paused:
        do_pause(engine, org, instance_id)
    return instance_id, history(engine, instance_id)


def _migrate(run: Run, *extra: str) -> dict[str, Any]:
    result = run("migrate", "--template", "onb", "--yes", "--format", "json", *extra)
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


@pytest.mark.parametrize("paused", [False, True], ids=["active", "paused"])
@pytest.mark.parametrize("position", list(POSITIONS))
@pytest.mark.parametrize("edit", list(EDITS))
def test_pending_tasks_follow_the_new_steps(
    run: Run, engine: Engine, demo_org: str, edit: str, position: str, paused: bool
) -> None:
    instance_id, before = _setup(run, engine, demo_org, position, paused)
    active_before = active_names(engine, instance_id)
    new, expected = EDITS[edit]
    write_template("onb", "Template onb", steps_of(new))
    assert run("sync").exit_code == 0
    report = _migrate(run)
    assert history(engine, instance_id, before) == before  # byte-identical
    assert pending_names(engine, instance_id) == expected[position]
    assert active_names(engine, instance_id) == active_before  # the active step stays
    check_orders(engine, instance_id, new)
    row = instance_row(engine, instance_id)
    assert row["status"] == ("paused" if paused else "active")
    assert row["total_steps"] == len(new)
    assert row["current_step_order"] == new.index(active_before[0]) + 1
    assert row["metadata"]["seqctl"]["template_version"] == 2
    outcomes = {s["name"]: s["outcome"] for s in report["instances"][0]["steps"]}
    if edit == "insert_before":
        assert outcomes["Step X"] == "passed"
        assert "Step X" not in [t["name"] for t in tasks(engine, instance_id)]
    if edit == "move_past" and position != "last":
        assert outcomes["Step E"] == "passed"
        (moved,) = [t for t in tasks(engine, instance_id) if t["name"] == "Step E"]
        assert moved["status"] == "cancelled"
        assert moved["metadata"]["sequence"]["removed_by_migration"] is True
    if edit == "remove_middle" and position != "last":
        (gone,) = [t for t in tasks(engine, instance_id) if t["name"] == "Step D"]
        assert (gone["status"], gone["metadata"]["sequence"]["removed_by_migration"]) == (
            "cancelled",
            True,
        )
        assert outcomes["Step D"] == "removed"
    if edit == "add_end":
        assert outcomes["Step F"] == "added"
    # the status view no longer marks it outdated
    assert json.loads(run("status", "--format", "json").stdout)["instances"][0]["outdated"] is False


@pytest.mark.parametrize("paused", [False, True], ids=["active", "paused"])
@pytest.mark.parametrize("position", list(POSITIONS))
def test_typo_fix_rewrites_pending_and_active_messages_not_history(
    run: Run, engine: Engine, demo_org: str, position: str, paused: bool
) -> None:
    instance_id, before = _setup(run, engine, demo_org, position, paused)
    dues = {t["name"]: t["due_date"] for t in tasks(engine, instance_id)}
    fixed = [dict(s, custom_message=s["custom_message"] + " (fixed)") for s in steps_of(OLD)]
    write_template("onb", "Template onb", fixed)
    run("sync")
    report = _migrate(run)
    assert history(engine, instance_id, before) == before
    for t in tasks(engine, instance_id):
        if t["status"] in ("pending", "active"):
            assert t["message"].endswith("(fixed)")
            assert t["due_date"] == dues[t["name"]]  # the active task keeps its due date
        else:
            assert not t["message"].endswith("(fixed)")
    changed = [s for s in report["instances"][0]["steps"] if s["outcome"] == "changed"]
    assert len(changed) == len(OLD) - POSITIONS[position]
    assert changed[0]["fields"] == [
        {
            "field": "message",
            "old": f"About {changed[0]['name']}",
            "new": f"About {changed[0]['name']} (fixed)",
        }
    ]


@pytest.mark.parametrize("paused", [False, True], ids=["active", "paused"])
@pytest.mark.parametrize("position", list(POSITIONS))
def test_active_step_removed(
    run: Run, engine: Engine, demo_org: str, position: str, paused: bool
) -> None:
    instance_id, before = _setup(run, engine, demo_org, position, paused)
    (active,) = active_names(engine, instance_id)
    new = [n for n in OLD if n != active]
    write_template("onb", "Template onb", steps_of(new))
    run("sync")
    report = _migrate(run)["instances"][0]
    assert history(engine, instance_id, before) == before
    (cancelled,) = [t for t in tasks(engine, instance_id) if t["name"] == active]
    assert cancelled["status"] == "cancelled"
    assert cancelled["metadata"]["sequence"]["removed_by_migration"] is True
    rest = OLD[OLD.index(active) + 1 :]
    row = instance_row(engine, instance_id)
    if paused:  # the next step starts when the instance is resumed
        assert active_names(engine, instance_id) == []
        assert pending_names(engine, instance_id) == rest
        assert row["status"] == "paused"
    elif rest:  # the next step starts now
        assert active_names(engine, instance_id) == rest[:1]
        assert pending_names(engine, instance_id) == rest[1:]
        assert report["starts_now"] is True and report["active_after"] == rest[0]
        assert report["due_changes"][0]["name"] == rest[0]
        assert row["current_step_order"] == new.index(rest[0]) + 1
    else:  # nothing follows: the instance completes, as progression would
        assert row["status"] == "completed"
        assert report["completes"] is True
    check_orders(engine, instance_id, new)
    if paused:
        assert run("resume", instance_id).exit_code == 0
        expected = rest[:1] if rest else []
        assert active_names(engine, instance_id) == expected


@pytest.mark.parametrize("paused", [False, True], ids=["active", "paused"])
@pytest.mark.parametrize("position", list(POSITIONS))
def test_all_steps_replaced(
    run: Run, engine: Engine, demo_org: str, position: str, paused: bool
) -> None:
    instance_id, before = _setup(run, engine, demo_org, position, paused)
    new = ["Other P", "Other Q", "Other R"]
    with engine.begin() as conn:  # new rows, as the web app replaces steps (a file edit
        # would update the rows in place, matched by position: a change of each step)
        conn.execute(text("DELETE FROM sequence_steps"))
        conn.execute(
            text(
                "INSERT INTO sequence_steps (sequence_template_id, step_order, name, type,"
                " delay_value, delay_unit) SELECT t.id, n.i, n.name, 'call', 1, 'days'"
                " FROM sequence_templates t, unnest(CAST(:names AS text[]))"
                " WITH ORDINALITY AS n(name, i)"
            ),
            {"names": new},
        )
    report = _migrate(run)["instances"][0]
    assert {s["outcome"] for s in report["steps"] if s["name"] in new} == {"added"}
    assert history(engine, instance_id, before) == before
    if paused:
        assert active_names(engine, instance_id) == []
        assert pending_names(engine, instance_id) == new
    else:
        assert active_names(engine, instance_id) == new[:1]
        assert pending_names(engine, instance_id) == new[1:]
    check_orders(engine, instance_id, new)
    assert instance_row(engine, instance_id)["total_steps"] == 3


@pytest.mark.parametrize("reschedule", [False, True])
def test_delay_of_the_active_step(
    run: Run, engine: Engine, demo_org: str, reschedule: bool
) -> None:
    instance_id, _ = _setup(run, engine, demo_org, "middle", False)
    (old,) = [t for t in tasks(engine, instance_id) if t["status"] == "active"]
    write_template("onb", "Template onb", steps_of(OLD, Step_C=4))  # 1 day -> 4 days
    run("sync")
    report = _migrate(run, *(["--reschedule"] if reschedule else []))["instances"][0]
    (new,) = [t for t in tasks(engine, instance_id) if t["status"] == "active"]
    assert new["metadata"]["sequence"]["delay_value"] == 4
    if reschedule:
        assert (new["due_date"] - old["due_date"]).days == 3
        assert report["due_changes"][0]["name"] == "Step C"
    else:
        assert new["due_date"] == old["due_date"]
        assert report["due_changes"] == []


def test_without_terminal_and_yes_previews_and_refuses(
    run: Run, engine: Engine, demo_org: str
) -> None:
    instance_id, _ = _setup(run, engine, demo_org, "first", False)
    write_template("onb", "Template onb", steps_of([*OLD, "Step F"]))
    run("sync")
    before = tasks(engine, instance_id)
    refused = run("migrate", "--template", "onb")
    assert refused.exit_code == 1
    assert "+ step 6 Step F: added" in refused.stdout
    assert "--yes" in refused.stderr and "nothing was changed" in refused.stderr
    assert tasks(engine, instance_id) == before
    dry = run("migrate", "--template", "onb", "--dry-run", "--format", "markdown")
    assert dry.exit_code == 0 and "| 6 | Step F | added |" in dry.stdout
    assert tasks(engine, instance_id) == before


def test_instances_without_step_ids_are_matched_by_order_and_name(
    run: Run, engine: Engine, demo_org: str
) -> None:
    instance_id, before = _setup(run, engine, demo_org, "middle", False)
    with engine.begin() as conn:  # as the web app makes them: no metadata.sequence
        conn.execute(
            text("UPDATE tasks SET metadata = '{}'::jsonb WHERE sequence_instance_id = :i"),
            {"i": instance_id},
        )
        conn.execute(
            text("UPDATE sequence_instances SET metadata = '{}'::jsonb WHERE id = :i"),
            {"i": instance_id},
        )
    before = history(engine, instance_id)
    write_template("onb", "Template onb", steps_of(["Step A", "Step B", "Step C", "Step E"]))
    run("sync")
    preview = run("migrate", "--template", "onb", "--dry-run")
    assert "matched to steps by name and order" in preview.stdout
    assert "v?\u2192v2" in preview.stdout
    report = _migrate(run)["instances"][0]
    assert report["matched_by"] == "order_and_name"
    assert history(engine, instance_id, before) == before
    assert pending_names(engine, instance_id) == ["Step E"]
    assert active_names(engine, instance_id) == ["Step C"]
    # the step ids are recorded now
    assert all(
        t["metadata"].get("sequence", {}).get("step_id")
        for t in tasks(engine, instance_id)
        if t["status"] in ("pending", "active")
    )


def test_filters_and_unknown_instance(run: Run, engine: Engine, demo_org: str) -> None:
    first = start(run, engine, "onb", steps_of(OLD), LUIGI)
    second = start(run, engine, "onb", steps_of(OLD), "Sakura Sushi Bar")
    write_template("onb", "Template onb", steps_of([*OLD, "Step F"]))
    run("sync")
    _migrate(run, "--restaurant", LUIGI)
    assert pending_names(engine, first)[-1] == "Step F"
    assert pending_names(engine, second)[-1] == "Step E"
    _migrate(run, "--instance", second)
    assert pending_names(engine, second)[-1] == "Step F"
    missing = run("migrate", "--template", "onb", "--instance", first[:-1] + "0", "--yes")
    assert missing.exit_code == 1 and "no running" in missing.stderr


def test_a_second_migrate_changes_nothing(run: Run, engine: Engine, demo_org: str) -> None:
    instance_id, _ = _setup(run, engine, demo_org, "middle", False)
    write_template("onb", "Template onb", steps_of([*OLD, "Step F"]))
    run("sync")
    _migrate(run)
    once = tasks(engine, instance_id)
    again = _migrate(run)
    assert tasks(engine, instance_id) == once
    assert again["summary"]["tasks_added"] == 0 and again["summary"]["tasks_changed"] == 0

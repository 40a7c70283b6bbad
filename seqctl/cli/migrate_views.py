"""Rendering a migration preview (`seqctl migrate`): text, json and markdown."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..inert import inert
from ..runtime.migrate_instances import (
    ADDED,
    CHANGED,
    DONE,
    PASSED,
    REMOVED,
    InstanceMigration,
    Migration,
    StepOutcome,
)

SIGN = {DONE: "=", "kept": " ", CHANGED: "~", ADDED: "+", REMOVED: "-", PASSED: ">"}


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if moment else "-"


def _value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:59] + "…"


def _version(m: InstanceMigration) -> str:
    return f"v{m.from_version if m.from_version is not None else '?'}\u2192v{m.to_version}"


def summary(migration: Migration, *, applied: bool) -> str:
    c = migration.counts()
    verb = "Migrated" if applied else "Migrate"
    return (
        f"{verb} {c['instances']} running instance(s) of {migration.template.name!r} to "
        f"v{migration.version}: {c['tasks_added']} task(s) added, {c['tasks_changed']} "
        f"changed, {c['tasks_cancelled']} cancelled"
    )


def _step_line(s: StepOutcome) -> list[str]:
    where = (
        f"step {s.new_order}"
        if s.old_order in (None, s.new_order)
        else f"step {s.old_order}\u2192{s.new_order}"
        if s.new_order
        else f"step {s.old_order}"
    )
    note = {
        DONE: f"done ({s.task_status}), untouched",
        PASSED: "passed: inserted before the instance's position, not added"
        if s.task_id is None
        else "passed: moved before the instance's position; its pending task is cancelled",
        REMOVED: f"removed: its {s.task_status} task is cancelled",
        ADDED: "added: new pending task",
        CHANGED: "changed",
        "kept": "kept",
    }[s.outcome]
    lines = [f"  {SIGN[s.outcome]} {where} {inert(s.name)}: {note}"]
    lines += [
        f"      {inert(f.field)}: {inert(_value(f.old))} \u2192 {inert(_value(f.new))}"
        for f in s.fields
    ]
    return lines


def _steps_text(m: InstanceMigration) -> list[str]:
    """The step lines of an instance (the same for every instance in its state)."""
    lines = []
    if m.matched_by != "step_id":
        lines.append("  note: tasks without recorded step ids, matched to steps by name and order")
    for s in m.steps:
        lines += _step_line(s)
    return lines


def text_lines(migration: Migration, zone: ZoneInfo, *, applied: bool) -> list[str]:
    lines = [summary(migration, applied=applied)]
    if migration.reschedule:
        lines.append("--reschedule: active tasks are due at their activation time + new delay")
    shared: dict[int, list[str]] = {}  # shape number -> its step lines, made once
    for m in migration.instances:
        lines += [
            "",
            f"{m.instance_id[:8]} {inert(m.restaurant)} ({m.status}, {_version(m)})",
        ]
        found = shared.get(m.shape.number)
        if found is None:
            found = shared[m.shape.number] = _steps_text(m)
        lines += found
        if m.completes:
            lines.append("  active step removed and nothing follows: the instance completes")
        elif m.starts_now:
            when = "now" if m.status == "active" else "when resumed"
            lines.append(f"  active step removed: {inert(m.active_after or '-')} starts {when}")
        else:
            lines.append(f"  active step: {inert(m.active_after or '-')}")
        for d in m.due_changes:
            lines.append(f"  due {inert(d.name)}: {_when(d.old, zone)} \u2192 {_when(d.new, zone)}")
    if not migration.instances:
        lines.append("no running instances to migrate")
    return lines


def markdown_lines(migration: Migration, zone: ZoneInfo, *, applied: bool) -> list[str]:
    lines = [summary(migration, applied=applied), ""]
    for m in migration.instances:
        lines += [
            f"### `{m.instance_id[:8]}` {inert(m.restaurant)} ({m.status}, {_version(m)})",
            "",
        ]
        if m.matched_by != "step_id":
            lines += ["_Tasks without recorded step ids: matched by name and order._", ""]
        lines += ["| step | name | outcome | fields |", "|---|---|---|---|"]
        for s in m.steps:
            fields = "<br>".join(
                f"{inert(f.field)}: {inert(_value(f.old))} → {inert(_value(f.new))}"
                for f in s.fields
            ).replace("|", "\\|")
            name = inert(s.name).replace("|", "\\|")
            lines.append(f"| {s.new_order or s.old_order} | {name} | {s.outcome} | {fields} |")
        lines += ["", f"Active step after: {inert(m.active_after or '-')}", ""]
    return lines


def as_json(migration: Migration, zone: ZoneInfo, *, applied: bool) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return moment.astimezone(zone).isoformat() if moment else None

    return {
        "applied": applied,
        "template": {
            "id": migration.template.id,
            "key": migration.template.key,
            "name": migration.template.name,
            "version": migration.version,
        },
        "reschedule": migration.reschedule,
        "summary": migration.counts(),
        "summary_line": summary(migration, applied=applied),
        "instances": [
            {
                "id": m.instance_id,
                "name": m.name,
                "restaurant": m.restaurant,
                "status": m.status,
                "from_version": m.from_version,
                "to_version": m.to_version,
                "matched_by": m.matched_by,
                "steps": [
                    {
                        "outcome": s.outcome,
                        "name": s.name,
                        "new_order": s.new_order,
                        "old_order": s.old_order,
                        "task_id": s.task_id,
                        "task_status": s.task_status,
                        "fields": [
                            {"field": f.field, "old": f.old, "new": f.new} for f in s.fields
                        ],
                    }
                    for s in m.steps
                ],
                "active_before": m.active_before,
                "active_after": m.active_after,
                "active_after_order": m.active_after_order,
                "starts_now": m.starts_now,
                "completes": m.completes,
                "due_changes": [
                    {"task_id": d.task_id, "name": d.name, "old": iso(d.old), "new": iso(d.new)}
                    for d in m.due_changes
                ],
            }
            for m in migration.instances
        ],
    }

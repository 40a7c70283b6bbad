"""Matching an instance's tasks to the template's current steps, and comparing them.

A task follows the step whose id it recorded (``metadata.sequence.step_id``); tasks
without one (started by the web app, or before seqctl recorded ids) are matched by name,
nearest position first, then by position. ``task_fields`` lists, field by field, how a
task differs from the step it follows now (what the preview shows as ``changed``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from ..templates.spec import FieldChange
from .migrate_model import COMPARED
from .steps import TASK_COLUMNS, Step, task_columns


@dataclass
class Task:
    """A task of an instance as read for a migration."""

    id: str
    order: int
    status: str
    name: str
    description: str | None
    type: str
    priority: str
    task_template_id: str | None
    message_template_id: str | None
    message: str | None
    subject_line: str | None
    due_date: datetime | None
    metadata: dict[str, Any]
    assigned_to: str | None

    @cached_property
    def sequence(self) -> dict[str, Any]:
        found = self.metadata.get("sequence")
        return dict(found) if isinstance(found, Mapping) else {}

    @cached_property
    def step_id(self) -> str | None:
        found = self.sequence.get("step_id")
        return found if isinstance(found, str) else None

    @cached_property
    def delay(self) -> tuple[int, str] | None:
        seq = self.sequence
        value, unit = seq.get("delay_value"), seq.get("delay_unit")
        if isinstance(value, int) and isinstance(unit, str):
            return value, unit
        return None

    @cached_property
    def schedule(self) -> dict[str, Any] | None:
        """The schedule the task was scheduled with (§10), without its resolved zone."""
        found = self.sequence.get("schedule")
        if not isinstance(found, Mapping):
            return None
        return {k: v for k, v in found.items() if k != "zone"}


def match_tasks(tasks: list[Task], steps: list[Step]) -> tuple[dict[str, Step], bool]:
    """task id -> its step; and whether some task had no recorded step id (then matched by
    name, nearest position first, then by position)."""
    by_id = {s.step_id: s for s in steps}
    matched: dict[str, Step] = {}
    used: set[str] = set()
    for t in tasks:
        s = by_id.get(t.step_id) if t.step_id else None
        if s is not None and s.step_id not in used:
            matched[t.id] = s
            used.add(s.step_id)
    unrecorded = [t for t in tasks if t.step_id is None]
    rules: list[Callable[[Task, Step], bool]] = [
        lambda t, s: t.name == s.name,
        lambda t, s: t.order == s.position,
    ]
    for rule in rules:
        for t in unrecorded:
            if t.id in matched:
                continue
            candidates = [s for s in steps if s.step_id not in used and rule(t, s)]
            if candidates:
                best = min(candidates, key=lambda s: abs(s.position - t.order))
                matched[t.id] = best
                used.add(best.step_id)
    return matched, bool(unrecorded)


def _delay_text(delay: tuple[int, str] | None) -> str | None:
    return f"{delay[0]} {delay[1]}" if delay is not None else None


def task_fields(
    task: Task, step: Step, schedule: Mapping[str, Any] | None = None
) -> list[FieldChange]:
    """How ``task`` differs from ``step``, field by field; ``schedule``: the schedule the
    step's tasks record now (None: unscheduled)."""
    old: dict[str, Any] = {
        **{column: getattr(task, column) for column in TASK_COLUMNS},
        "delay": _delay_text(task.delay),
        "schedule": task.schedule,
    }
    new: dict[str, Any] = {
        **task_columns(step),
        "delay": _delay_text((step.delay_value, step.delay_unit)),
        "schedule": dict(schedule) if schedule is not None else None,
    }
    return [FieldChange(f, old[f], new[f]) for f in COMPARED if old[f] != new[f]]

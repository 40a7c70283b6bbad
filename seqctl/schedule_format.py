"""Schedules in template files and rows (§10): validation, storage, plan fields, export.

A template's ``schedule:`` is stored normalised in ``metadata.seqctl.schedule`` of its
row, a step's ``hours:`` in ``metadata.seqctl.hours`` of the step row. The engine itself
is ``seqctl.schedule``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .schedule import (
    Schedule,
    ScheduleError,
    format_windows,
    parse_schedule,
    parse_windows,
)

SEQCTL_KEY = "seqctl"
SCHEDULE_FIELDS = ("timezone", "days", "hours", "holidays", "count")

Report = Callable[[str, str, str | None], None]  # (json path, message, hint)


def check_schedules(data: Mapping[str, Any], failed: set[str], report: Report) -> None:
    """Offline checks of a template document's ``schedule`` and its steps' ``hours``;
    paths the JSON Schema already rejected are not reported twice."""
    if "schedule" in data and isinstance(data["schedule"], dict):
        for name, value in data["schedule"].items():  # each field on its own: all errors
            if name in SCHEDULE_FIELDS and f"$.schedule.{name}" not in failed:
                try:
                    parse_schedule({name: value}, "$.schedule")
                except ScheduleError as e:
                    report(e.path, e.message, e.hint)
    steps = data.get("steps")
    if not isinstance(steps, list):
        return
    for index, step in enumerate(steps):
        path = f"$.steps[{index}].hours"
        if isinstance(step, dict) and "hours" in step and path not in failed:
            try:
                parse_windows(step["hours"], path)
            except ScheduleError as e:
                report(e.path, e.message, e.hint)


def file_schedule(data: Mapping[str, Any]) -> dict[str, Any]:
    """The normalised schedule of a valid document ({} without one)."""
    if "schedule" not in data:
        return {}
    return parse_schedule(data["schedule"]).to_json()


def file_hours(step: Mapping[str, Any]) -> str | None:
    """A valid step's ``hours``, normalised ("09:00-12:00, 14:30-17:00")."""
    if step.get("hours") is None:
        return None
    return format_windows(parse_windows(step["hours"], "$"))


def stored_schedule(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """The schedule a sync stored with a template (``metadata.seqctl.schedule``)."""
    entry = (metadata or {}).get(SEQCTL_KEY)
    found = entry.get("schedule") if isinstance(entry, Mapping) else None
    return dict(found) if isinstance(found, Mapping) else {}


def step_metadata(metadata: Mapping[str, Any], hours: str | None) -> dict[str, Any]:
    """A step row's metadata: the file's, plus ``seqctl.hours`` when the step has a window."""
    out = dict(metadata)
    if hours is not None:
        out[SEQCTL_KEY] = {"hours": hours}
    return out


def split_step_metadata(metadata: Mapping[str, Any] | None) -> tuple[dict[str, Any], str | None]:
    """A step row's metadata → (what the file's ``metadata:`` holds, its ``hours:``)."""
    out = dict(metadata or {})
    entry = out.get(SEQCTL_KEY)
    if isinstance(entry, Mapping) and set(entry) == {"hours"} and isinstance(entry["hours"], str):
        del out[SEQCTL_KEY]
        return out, entry["hours"]
    return out, None


def stored_step_hours(metadata: Mapping[str, Any] | None) -> str | None:
    return split_step_metadata(metadata)[1]


def schedule_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """Field-by-field differences of two stored schedules: (``schedule.<field>``, old, new)."""
    if old == new:
        return []
    if not old or not new:
        return [("schedule", old or None, new or None)]
    return [
        (f"schedule.{name}", old.get(name), new.get(name))
        for name in SCHEDULE_FIELDS
        if old.get(name) != new.get(name)
    ]


def effective_schedule(template: Mapping[str, Any], hours: str | None) -> Schedule | None:
    """The schedule a step's tasks are due by: the template's, with the step's own window;
    a step window without a template schedule applies in the configured zone."""
    if not template and hours is None:
        return None
    base = parse_schedule({k: v for k, v in template.items() if v is not None})
    return base.with_hours(parse_windows(hours, "$") if hours else None)

"""Schedules in template files and rows (§10): the model, parsing and validation, storage.

A template's ``schedule:`` (``timezone``, ``days``, ``hours``, ``holidays``, ``count``) is
parsed into a ``Schedule`` and stored normalised in ``metadata.seqctl.schedule`` of its row;
a step's ``hours:`` in ``metadata.seqctl.hours`` of the step row. Windows are half-open,
``[start, end)``, and cannot cross midnight. The engine that computes due dates through a
schedule is ``seqctl.runtime.schedule``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from ..suggest import did_you_mean

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
COUNTS = ("calendar", "business")
ZONE_KEYWORDS = ("restaurant", "organisation")
SEARCH_DAYS = 731  # no allowed instant within two years: the schedule allows nothing

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class ScheduleError(ValueError):
    """A schedule that cannot be used; ``path`` is its JSON path below the template."""

    def __init__(self, message: str, path: str = "$.schedule", hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.hint = hint


@dataclass(frozen=True, order=True)
class Window:
    """A local window ``[start, end)`` in minutes after midnight (end up to 24:00)."""

    start: int
    end: int

    def __str__(self) -> str:
        return (
            f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"
        )


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule. ``timezone``: restaurant | organisation | an IANA name | None
    (the configured zone); ``days``: allowed weekdays (0 = Monday); ``hours``: windows
    (empty = the whole day); ``holidays``: a country or subdivision code such as NZ-AUK."""

    timezone: str | None = None
    days: frozenset[int] = frozenset(range(7))
    hours: tuple[Window, ...] = ()
    holidays: str | None = None
    count: str = "calendar"

    def with_hours(self, hours: tuple[Window, ...] | None) -> Schedule:
        return self if not hours else replace(self, hours=hours)

    def to_json(self) -> dict[str, Any]:
        """The normalised form stored in ``metadata.seqctl.schedule`` and on each task."""
        out: dict[str, Any] = {}
        if self.timezone is not None:
            out["timezone"] = self.timezone
        if self.days != frozenset(range(7)):
            out["days"] = [DAYS[d] for d in sorted(self.days)]
        if self.hours:
            out["hours"] = format_windows(self.hours)
        if self.holidays is not None:
            out["holidays"] = self.holidays
        if self.count != "calendar":
            out["count"] = self.count
        return out


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def format_windows(windows: tuple[Window, ...]) -> str:
    return ", ".join(str(w) for w in windows)


def parse_windows(value: object, path: str) -> tuple[Window, ...]:
    """``"09:00-12:00, 14:30-17:00"`` → windows, sorted; errors name the bad window."""
    if not isinstance(value, str) or not value.strip():
        raise ScheduleError(
            'hours must be one or more windows such as "09:00-12:00, 14:30-17:00"',
            path,
            hint='write windows as "HH:MM-HH:MM", separated by commas',
        )
    windows: list[Window] = []
    for part in value.split(","):
        m = _WINDOW.match(part)
        if m is None:
            raise ScheduleError(
                f"malformed window {part.strip()!r} in hours {value!r}",
                path,
                hint='write each window as "HH:MM-HH:MM", e.g. "14:30-17:00"',
            )
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
            raise ScheduleError(
                f"window {part.strip()!r} in hours {value!r} is not a time of day",
                path,
                hint="hours go from 00:00 to 23:59 (24:00 only as a window's end)",
            )
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end <= start:
            raise ScheduleError(
                f"window {part.strip()!r} ends before it starts (windows cannot cross midnight)",
                path,
                hint='split it at midnight, e.g. "22:00-24:00, 00:00-02:00"',
            )
        windows.append(Window(start, end))
    windows.sort()
    for a, b in zip(windows, windows[1:], strict=False):
        if b.start < a.end:
            raise ScheduleError(
                f"windows {a} and {b} in hours {value!r} overlap",
                path,
                hint="merge them into one window",
            )
    return tuple(windows)


def check_zone(name: str, path: str) -> None:
    if not valid_zone(name):
        raise ScheduleError(
            f"unknown time zone {name!r}",
            path,
            hint=did_you_mean(
                name,
                sorted(_zones()),
                "use restaurant, organisation or an IANA name such as Pacific/Auckland",
            ),
        )


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def valid_zone(name: object) -> bool:
    if not isinstance(name, str) or not name or name not in _zones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def check_holidays(code: object, path: str) -> str:
    import holidays  # only to check a schedule's holidays: it takes long to import

    supported = holidays.list_supported_countries()
    if not isinstance(code, str) or not code:
        raise ScheduleError(
            "holidays must be a country code such as NZ or a subdivision such as NZ-AUK", path
        )
    country, _, subdiv = code.partition("-")
    if country not in supported:
        raise ScheduleError(
            f"unknown holidays country {country!r}",
            path,
            hint=did_you_mean(
                country,
                sorted(supported),
                "use an ISO 3166 country code the holidays package supports, e.g. NZ, DE, US",
            ),
        )
    if subdiv and subdiv not in supported[country]:
        raise ScheduleError(
            f"unknown subdivision {subdiv!r} of {country}",
            path,
            hint=did_you_mean(
                subdiv,
                list(supported[country]),
                f"subdivisions of {country}: {', '.join(supported[country])}",
            ),
        )
    return code


def parse_schedule(value: object, path: str = "$.schedule") -> Schedule:
    """A template's ``schedule:`` mapping → ``Schedule``; ``ScheduleError`` names the field."""
    if not isinstance(value, dict):
        raise ScheduleError("schedule must be a mapping", path)
    known = ("timezone", "days", "hours", "holidays", "count")
    for key in value:
        if key not in known:
            raise ScheduleError(
                f"unknown key {key!r} in schedule",
                f"{path}.{key}",
                hint=did_you_mean(str(key), list(known), f"known keys: {', '.join(known)}"),
            )
    zone = value.get("timezone")
    if zone is not None:
        if not isinstance(zone, str):
            raise ScheduleError("timezone must be a string", f"{path}.timezone")
        if zone not in ZONE_KEYWORDS:
            check_zone(zone, f"{path}.timezone")
    days: frozenset[int] = frozenset(range(7))
    if "days" in value:
        raw = value["days"]
        if not isinstance(raw, list) or not raw:
            raise ScheduleError(
                "days must be a non-empty list of weekdays", f"{path}.days", hint="e.g. [mon, fri]"
            )
        found: set[int] = set()
        for i, d in enumerate(raw):
            name = str(d).lower()[:3] if isinstance(d, str) else None
            if not isinstance(d, str) or d.lower() not in (*DAYS, *_LONG_DAYS):
                raise ScheduleError(
                    f"unknown weekday {d!r}",
                    f"{path}.days[{i}]",
                    hint=did_you_mean(
                        str(d).lower(), [*DAYS, *_LONG_DAYS], f"weekdays are {', '.join(DAYS)}"
                    ),
                )
            assert name is not None
            found.add(DAYS.index(name))
        days = frozenset(found)
    hours = parse_windows(value["hours"], f"{path}.hours") if "hours" in value else ()
    code = value.get("holidays")
    if code is not None:
        check_holidays(code, f"{path}.holidays")
    count = value.get("count", "calendar")
    if count not in COUNTS:
        raise ScheduleError(
            f"count must be calendar or business, not {count!r}",
            f"{path}.count",
            hint=did_you_mean(str(count), list(COUNTS), "use calendar or business"),
        )
    return Schedule(zone, days, hours, code, count)


_LONG_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def schedule_from_json(value: dict[str, Any]) -> Schedule:
    """A schedule as stored (``to_json``, possibly with a resolved ``zone``)."""
    return parse_schedule({k: v for k, v in value.items() if k != "zone"}, "$.schedule")


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
        meta = step.get("metadata") if isinstance(step, dict) else None
        if isinstance(meta, dict) and SEQCTL_KEY in meta:
            report(
                f"$.steps[{index}].metadata.{SEQCTL_KEY}",
                f'the key "{SEQCTL_KEY}" of a step\'s metadata is reserved (sync keeps the '
                "step's hours there)",
                "rename the key; for a step's window write `hours:` on the step",
            )
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

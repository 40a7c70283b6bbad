"""Schedules (§10): when tasks may fall due — weekdays, local windows, public holidays.

A pure engine, no database: ``parse_schedule`` turns a template's ``schedule:`` mapping
(and a step's ``hours:``) into a ``Schedule``; ``next_allowed`` moves an instant forward to
the earliest allowed instant; ``due_date`` computes a step's due date through a schedule.

An instant is *allowed* when its wall time in the schedule's zone falls on an allowed
weekday that is not a public holiday (of that zone-local date) and inside one of the
windows; windows are half-open, ``[start, end)``, so "09:00-12:00" allows 11:59:59 but not
12:00. A window start that does not exist (a DST gap) resolves to the first real instant
after it; one that exists twice (a repeated hour) to the first of the two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays as holidays_package

from .suggest import did_you_mean

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
COUNTS = ("calendar", "business")
ZONE_KEYWORDS = ("restaurant", "organisation")
UNITS = ("minutes", "hours", "days")
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
    supported = holidays_package.list_supported_countries()
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


# --- the engine ------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _holiday_calendar(code: str) -> holidays_package.HolidayBase:
    country, _, subdiv = code.partition("-")
    return holidays_package.country_holidays(country, subdiv=subdiv or None)


def is_allowed_day(day: date, schedule: Schedule) -> bool:
    if day.weekday() not in schedule.days:
        return False
    return not (schedule.holidays and day in _holiday_calendar(schedule.holidays))


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def is_allowed(instant: datetime, schedule: Schedule, zone: ZoneInfo) -> bool:
    wall = _wall(instant, zone)
    if not is_allowed_day(wall.date(), schedule):
        return False
    if not schedule.hours:
        return True
    since = wall - datetime.combine(wall.date(), time())
    return any(
        timedelta(minutes=w.start) <= since < timedelta(minutes=w.end) for w in schedule.hours
    )


def resolve_wall(wall: datetime, zone: ZoneInfo, fold: int = 0) -> datetime:
    """The instant (UTC) of a naive local wall time: a repeated time → the occurrence
    ``fold`` (0: the first); a time in a DST gap → the first instant after the gap."""
    instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
    if _wall(instant, zone) == wall:
        return instant
    # in a gap: the first instant whose wall time is >= wall lies between the readings
    # of the two offsets; wall time grows with the instant there, so bisect (to the second)
    a = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    b = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = min(a, b), max(a, b)
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid <= lo:
            break
        if _wall(mid, zone) >= wall:
            hi = mid
        else:
            lo = mid
    return hi


def _day_candidates(day: date, schedule: Schedule, zone: ZoneInfo) -> list[datetime]:
    """Instants at which the allowed time of ``day`` can begin (window starts, both folds)."""
    starts = [w.start for w in schedule.hours] if schedule.hours else [0]
    midnight = datetime.combine(day, time())
    return [
        resolve_wall(midnight + timedelta(minutes=s), zone, fold) for s in starts for fold in (0, 1)
    ]


def next_allowed(instant: datetime, schedule: Schedule, zone: ZoneInfo) -> datetime:
    """The earliest allowed instant at or after ``instant`` (returned in UTC)."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    instant = instant.astimezone(UTC)
    if is_allowed(instant, schedule, zone):
        return instant
    first = _wall(instant, zone).date() - timedelta(days=1)
    for offset in range(SEARCH_DAYS):
        day = first + timedelta(days=offset)
        if not is_allowed_day(day, schedule):
            continue
        found = [
            c
            for c in _day_candidates(day, schedule, zone)
            if c >= instant and is_allowed(c, schedule, zone)
        ]
        if found:
            return min(found)
    raise ScheduleError(
        f"the schedule allows no moment within {SEARCH_DAYS} days after {instant.isoformat()}",
        hint="allow more days or hours",
    )


def calendar_due(base: datetime, delay_value: int, delay_unit: str, zone: ZoneInfo) -> datetime:
    """The unscheduled due date (§4): days are calendar days in ``zone``, minutes and hours
    exact durations. A day delay landing on a repeated hour takes the later reading, so
    the result is never earlier than PostgreSQL's ``timestamptz + interval``."""
    if delay_unit == "minutes":
        return base + timedelta(minutes=delay_value)
    if delay_unit == "hours":
        return base + timedelta(hours=delay_value)
    wall = _wall(base, zone) + timedelta(days=delay_value)
    return max(resolve_wall(wall, zone, 0), resolve_wall(wall, zone, 1), base)


def due_date(
    base: datetime,
    delay_value: int,
    delay_unit: str,
    schedule: Schedule,
    zone: ZoneInfo,
    *,
    configured: ZoneInfo | None = None,
    unscheduled: datetime | None = None,
) -> datetime:
    """A step's due date through the schedule: never earlier than the unscheduled due date
    (computed in ``configured``, default ``zone``, unless given), always allowed.

    With ``count: business`` a day delay counts allowed days (weekdays of the schedule that
    are not holidays) in the schedule's zone, keeping the wall time of ``base``.
    """
    if unscheduled is None:  # else: as computed by PostgreSQL (§4)
        unscheduled = calendar_due(base, delay_value, delay_unit, configured or zone)
    start = unscheduled
    if schedule.count == "business" and delay_unit == "days" and delay_value > 0:
        wall = _wall(base, zone)
        day, left = wall.date(), delay_value
        for _ in range(SEARCH_DAYS * 2):
            day += timedelta(days=1)
            if is_allowed_day(day, schedule):
                left -= 1
                if left == 0:
                    break
        else:
            raise ScheduleError("the schedule allows no business day", hint="allow more days")
        start = max(unscheduled, resolve_wall(datetime.combine(day, wall.time()), zone, 0))
    return next_allowed(start, schedule, zone)


def zone_abbreviation(instant: datetime, zone_name: str) -> str:
    """``2026-12-01 14:30 NZDT``: the instant in the zone it was scheduled in."""
    local = instant.astimezone(ZoneInfo(zone_name))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"

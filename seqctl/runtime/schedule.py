"""The schedule engine (§10): when a task may fall due — weekdays, windows, holidays, DST.

Pure, no database. ``next_allowed`` moves an instant forward to the earliest allowed
instant; ``due_date`` computes a step's due date through a schedule (never earlier than
the unscheduled one). An instant is *allowed* when its wall time in the schedule's zone
falls on an allowed weekday that is not a public holiday (of that zone-local date) and
inside one of the windows, ``[start, end)``. A window start that does not exist (a DST
gap) resolves to the first real instant after it; one that exists twice (a repeated hour)
to the first of the two. Schedules are parsed by ``seqctl.templates.schedule_format``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ..templates.schedule_format import SEARCH_DAYS, Schedule, ScheduleError

if TYPE_CHECKING:
    from holidays import HolidayBase


@lru_cache(maxsize=256)
def _holiday_calendar(code: str) -> HolidayBase:
    import holidays  # only for a schedule with holidays: the package takes long to import

    country, _, subdiv = code.partition("-")
    return holidays.country_holidays(country, subdiv=subdiv or None)


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

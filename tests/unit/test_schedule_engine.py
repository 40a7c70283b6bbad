"""The pure schedule engine (§10): windows, weekdays, holidays, DST, business days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqctl.runtime.schedule import (
    calendar_due,
    due_date,
    is_allowed,
    next_allowed,
    zone_abbreviation,
)
from seqctl.templates.schedule_format import (
    Schedule,
    ScheduleError,
    Window,
    parse_schedule,
    parse_windows,
)

AKL = ZoneInfo("Pacific/Auckland")
BER = ZoneInfo("Europe/Berlin")
LON = ZoneInfo("Europe/London")
NYC = ZoneInfo("America/New_York")

WEEKDAYS_NZ = parse_schedule(
    {
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "hours": "09:00-12:00, 14:30-17:00",
        "holidays": "NZ",
    }
)


def at(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold).astimezone(UTC)  # type: ignore[misc]


def test_windows_parse_sorted() -> None:
    assert parse_windows("14:30-17:00, 09:00-12:00", "$") == (Window(540, 720), Window(870, 1020))
    assert parse_windows("22:00-24:00", "$") == (Window(1320, 1440),)


@pytest.mark.parametrize(
    ("hours", "fragment"),
    [
        ("", "one or more windows"),
        ("9-12", "malformed window"),
        ("17:00-14:30", "ends before it starts"),
        ("22:00-02:00", "ends before it starts"),
        ("10:00-10:00", "ends before it starts"),
        ("25:00-26:00", "not a time of day"),
        ("09:00-12:00, 11:00-13:00", "overlap"),
    ],
)
def test_bad_windows(hours: str, fragment: str) -> None:
    with pytest.raises(ScheduleError, match=fragment):
        parse_windows(hours, "$.schedule.hours")


def test_unknown_zone_day_country_with_hints() -> None:
    with pytest.raises(ScheduleError) as e:
        parse_schedule({"timezone": "Pacific/Aukland"})
    assert "Pacific/Auckland" in (e.value.hint or "")
    assert e.value.path == "$.schedule.timezone"
    with pytest.raises(ScheduleError) as e:
        parse_schedule({"days": ["mon", "thurs"]})
    assert e.value.path == "$.schedule.days[1]" and "thu" in (e.value.hint or "")
    with pytest.raises(ScheduleError, match="unknown holidays country 'XX'"):
        parse_schedule({"holidays": "XX"})
    with pytest.raises(ScheduleError, match="unknown subdivision 'AKL' of NZ") as e:
        parse_schedule({"holidays": "NZ-AKL"})
    assert "AUK" in (e.value.hint or "")
    with pytest.raises(ScheduleError, match="count"):
        parse_schedule({"count": "busines"})


def test_inside_window_unchanged_and_window_end_is_excluded() -> None:
    s = parse_schedule({"hours": "09:00-12:00, 14:30-17:00"})
    inside = at(AKL, 2026, 12, 1, 10, 0)
    assert next_allowed(inside, s, AKL) == inside
    # exactly at a window's end: the next window
    assert next_allowed(at(AKL, 2026, 12, 1, 12, 0), s, AKL) == at(AKL, 2026, 12, 1, 14, 30)
    # after the last window: tomorrow's first
    assert next_allowed(at(AKL, 2026, 12, 1, 17, 0), s, AKL) == at(AKL, 2026, 12, 2, 9, 0)


def test_weekend_moves_to_monday() -> None:
    # Saturday 2026-12-05 10:00 in Auckland -> Monday 2026-12-07 09:00
    assert next_allowed(at(AKL, 2026, 12, 5, 10, 0), WEEKDAYS_NZ, AKL) == at(AKL, 2026, 12, 7, 9, 0)


def test_holiday_followed_by_weekend() -> None:
    # Christmas 2026 is a Friday, then the weekend, then Boxing Day (observed) Monday 28th
    due = next_allowed(at(AKL, 2026, 12, 25, 9, 30), WEEKDAYS_NZ, AKL)
    assert due == at(AKL, 2026, 12, 29, 9, 0)


def test_friday_evening_completion_counts_business_days() -> None:
    s = parse_schedule({"days": ["mon", "tue", "wed", "thu", "fri"], "count": "business"})
    friday_evening = at(NYC, 2026, 11, 6, 19, 0)
    # one business day after Friday 19:00 is Monday 19:00 (calendar: Saturday)
    assert due_date(friday_evening, 1, "days", s, NYC) == at(NYC, 2026, 11, 9, 19, 0)
    calendar = parse_schedule({"days": ["mon", "tue", "wed", "thu", "fri"]})
    assert due_date(friday_evening, 1, "days", calendar, NYC) == at(NYC, 2026, 11, 9, 0, 0)
    # three business days: Mon, Tue, Wed
    assert due_date(friday_evening, 3, "days", s, NYC) == at(NYC, 2026, 11, 11, 19, 0)


def test_business_days_skip_holidays() -> None:
    s = parse_schedule(
        {"days": ["mon", "tue", "wed", "thu", "fri"], "holidays": "NZ", "count": "business"}
    )
    # Thursday 24 Dec 2026 + 1 business day: Fri 25 (Christmas), Mon 28 (Boxing Day
    # observed) are holidays -> Tuesday 29
    assert due_date(at(AKL, 2026, 12, 24, 10, 0), 1, "days", s, AKL) == at(AKL, 2026, 12, 29, 10, 0)


@pytest.mark.parametrize(
    ("zone", "day"),
    [(AKL, (2026, 9, 27)), (BER, (2026, 3, 29)), (LON, (2026, 3, 29)), (NYC, (2026, 3, 8))],
)
def test_spring_forward_gap_resolves_to_the_first_real_instant(
    zone: ZoneInfo, day: tuple[int, int, int]
) -> None:
    gap_start = {AKL: 2, BER: 2, LON: 1, NYC: 2}[zone]
    s = parse_schedule({"hours": f"{gap_start:02d}:30-06:00"})
    before = at(zone, *day, 0, 0)
    due = next_allowed(before, s, zone)
    local = due.astimezone(zone)
    assert (local.hour, local.minute) == (gap_start + 1, 0)  # the moment the clocks jump
    assert is_allowed(due, s, zone)
    assert not is_allowed(due - timedelta(seconds=1), s, zone)


@pytest.mark.parametrize(
    ("zone", "day", "hour"),
    [
        (AKL, (2026, 4, 5), 2),
        (BER, (2026, 10, 25), 2),
        (LON, (2026, 10, 25), 1),
        (NYC, (2026, 11, 1), 1),
    ],
)
def test_fall_back_repeated_hour_resolves_to_the_first(
    zone: ZoneInfo, day: tuple[int, int, int], hour: int
) -> None:
    s = parse_schedule({"hours": f"{hour:02d}:30-{hour + 1:02d}:00"})
    due = next_allowed(at(zone, *day, 0, 0), s, zone)
    assert due == at(zone, *day, hour, 30, fold=0)
    assert due < at(zone, *day, hour, 30, fold=1)
    # between the two readings, the second one is the next allowed instant
    between = at(zone, *day, hour, 30, fold=0) + timedelta(minutes=45)
    assert next_allowed(between, s, zone) == at(zone, *day, hour, 30, fold=1)


def test_day_delay_is_calendar_days_across_dst() -> None:
    base = at(BER, 2026, 3, 28, 10, 0)
    assert calendar_due(base, 1, "days", BER) == at(BER, 2026, 3, 29, 10, 0)
    assert calendar_due(base, 1, "days", BER) - base == timedelta(hours=23)
    assert calendar_due(base, 2, "hours", BER) == base + timedelta(hours=2)


def test_a_single_minute_on_saturdays_is_found() -> None:
    s = Schedule(days=frozenset({5}), holidays=None, hours=(Window(0, 1),))
    assert next_allowed(at(AKL, 2026, 12, 1, 0, 0), s, AKL).astimezone(AKL).weekday() == 5


def test_zone_abbreviation() -> None:
    assert zone_abbreviation(at(AKL, 2026, 12, 1, 14, 30), "Pacific/Auckland") == (
        "2026-12-01 14:30 NZDT"
    )


def test_round_trip_json() -> None:
    assert parse_schedule(WEEKDAYS_NZ.to_json()) == WEEKDAYS_NZ
    assert WEEKDAYS_NZ.to_json() == {
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "hours": "09:00-12:00, 14:30-17:00",
        "holidays": "NZ",
    }


# --- properties ------------------------------------------------------------------------

ZONES = [AKL, BER, LON, NYC, ZoneInfo("Australia/Lord_Howe"), ZoneInfo("UTC")]
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    cuts = sorted(draw(st.sets(st.integers(0, 96), min_size=0, max_size=6)))
    if len(cuts) % 2:
        cuts = cuts[:-1]
    hours = tuple(
        Window(cuts[i] * 15, cuts[i + 1] * 15)
        for i in range(0, len(cuts), 2)
        if cuts[i] < cuts[i + 1]
    )
    code = draw(st.sampled_from([None, "NZ", "DE", "US-NY"]))
    count = draw(st.sampled_from(["calendar", "business"]))
    return Schedule(None, days, hours, code, count)


def brute_force(instant: datetime, schedule: Schedule, zone: ZoneInfo) -> datetime:
    """Minute by minute (from the next whole minute) until allowed."""
    if is_allowed(instant, schedule, zone):
        return instant
    t = instant.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(60 * 24 * 30):
        if is_allowed(t, schedule, zone):
            return t
        t += timedelta(minutes=1)
    raise AssertionError("nothing allowed within 30 days")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    instants,
    schedules(),
    st.sampled_from(ZONES),
    st.integers(0, 10),
    st.sampled_from(["minutes", "hours", "days"]),
)
def test_due_date_properties(
    base: datetime, schedule: Schedule, zone: ZoneInfo, delay: int, unit: str
) -> None:
    due = due_date(base, delay, unit, schedule, zone)
    assert due >= calendar_due(base, delay, unit, zone)  # never earlier than unscheduled
    assert is_allowed(due, schedule, zone)  # inside an allowed window
    assert next_allowed(due, schedule, zone) == due  # idempotent


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
    ).map(lambda d: d.replace(second=0, microsecond=0)),
    schedules(),
    st.sampled_from(ZONES),
)
def test_next_allowed_is_the_earliest(
    instant: datetime, schedule: Schedule, zone: ZoneInfo
) -> None:
    if len(schedule.days) < 3:  # keep the brute force short
        schedule = Schedule(None, frozenset(range(7)), schedule.hours, None)
    assert next_allowed(instant, schedule, zone) == brute_force(instant, schedule, zone)

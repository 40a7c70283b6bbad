"""Time inside a transaction: the clock, the configured time zone and step delays.

Every date computation of seqctl happens in PostgreSQL after ``SET LOCAL TimeZone``, so
``timestamptz + interval 'N days'`` is calendar-day arithmetic in the configured zone
(correct across DST changes) while minutes and hours stay exact durations.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from ..pg import Connection, tx


def begin_clock(conn: Connection, timezone: str, now: datetime | None) -> datetime:
    """Set the transaction's time zone; return ``now`` (the database's ``now()`` if not given).

    ``now`` is injectable so tests can walk a sequence through days in milliseconds.
    """
    tx(conn).execute("SELECT set_config('TimeZone', :tz, true)", {"tz": timezone})
    if now is not None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return now
    value = tx(conn).scalar_one("SELECT now()")
    assert isinstance(value, datetime)
    return value


def local_date(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def delay_interval_sql(value: str, unit: str) -> str:
    """SQL for the interval of a delay: calendar days, exact hours and minutes.

    ``value`` and ``unit`` are SQL expressions (an integer and one of minutes/hours/days).
    """
    return (
        f"make_interval(days => CASE WHEN {unit} = 'days' THEN {value} ELSE 0 END, "
        f"hours => CASE WHEN {unit} = 'hours' THEN {value} ELSE 0 END, "
        f"mins => CASE WHEN {unit} = 'minutes' THEN {value} ELSE 0 END)"
    )


def exact_interval_sql(later: str, earlier: str) -> str:
    """SQL for the exact duration ``later - earlier`` as an interval without a days part.

    Plain ``timestamptz - timestamptz`` yields whole days that would then be added as
    calendar days, an hour off across a DST change.
    """
    return f"make_interval(secs => extract(epoch FROM ({later}) - ({earlier})))"

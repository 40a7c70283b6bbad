"""Due dates through schedules in the database (§10): apply, progression, resume.

Unscheduled templates never come here: their due dates stay computed in SQL (§4). For a
scheduled one, each task records the schedule it was scheduled with, and the zone it was
resolved to, at ``metadata.sequence.schedule`` (``{"timezone": "restaurant", ...,
"zone": "Pacific/Auckland"}``), so later template edits change nothing for running
instances. Due dates are computed by ``seqctl.runtime.schedule`` once per distinct (schedule,
zone, base, delay) and written in one statement, whatever the number of restaurants.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from ..db.crm_columns import CrmColumns
from ..pg import Connection, tx
from ..templates.schedule_format import (
    Schedule,
    effective_schedule,
    parse_schedule,
    stored_schedule,
    valid_zone,
)
from .schedule import due_date, next_allowed


@dataclass(frozen=True)
class StepSchedule:
    schedule: Schedule
    record: dict[str, Any]  # what each task records (without the resolved zone)


@dataclass
class TemplateSchedule:
    """The schedule of each step (by position) of a template about to be started."""

    timezone: str | None  # restaurant | organisation | an IANA name | None (configured)
    steps: dict[int, StepSchedule] = field(default_factory=dict)


def template_schedule(
    metadata: Mapping[str, Any], hours: Mapping[int, str | None]
) -> TemplateSchedule | None:
    """None for a template without schedule and without step windows (the SQL path)."""
    stored = stored_schedule(metadata)
    if not stored and not any(hours.values()):
        return None
    out = TemplateSchedule(stored.get("timezone"))
    for position, window in hours.items():
        schedule = effective_schedule(stored, window)
        if schedule is not None:
            out.steps[position] = StepSchedule(schedule, schedule.to_json())
    return out


@dataclass
class Zones:
    """restaurant id -> the zone its tasks are scheduled in; and those that fell back."""

    by_restaurant: dict[str, str]
    fallbacks: dict[str, str]  # restaurant id -> why (missing / invalid zone 'X')


def restaurant_zones(
    conn: Connection,
    crm: CrmColumns,
    org_id: str,
    restaurant_ids: Sequence[str],
    timezone: str | None,
    configured: str,
) -> Zones:
    """The zone of each restaurant for a schedule's ``timezone`` (one statement at most)."""
    if timezone is None:
        return Zones(dict.fromkeys(restaurant_ids, configured), {})
    if timezone not in ("restaurant", "organisation"):
        return Zones(dict.fromkeys(restaurant_ids, timezone), {})
    if timezone == "restaurant":
        found = _metadata_zone(
            conn,
            crm,
            "restaurants",
            "SELECT r.id::text, {expr} FROM restaurants r WHERE r.id = ANY(CAST(:ids AS uuid[]))",
            {"ids": list(restaurant_ids)},
            "r",
        )
        values = {rid: found.get(rid) for rid in restaurant_ids}
    else:
        found = _metadata_zone(
            conn,
            crm,
            "organisations",
            "SELECT o.id::text, {expr} FROM organisations o WHERE o.id = CAST(:org AS uuid)",
            {"org": org_id},
            "o",
        )
        values = dict.fromkeys(restaurant_ids, found.get(org_id))
    zones: dict[str, str] = {}
    fallbacks: dict[str, str] = {}
    for rid, value in values.items():
        if valid_zone(value):
            assert isinstance(value, str)
            zones[rid] = value
        else:
            zones[rid] = configured
            where = f"{'restaurants' if timezone == 'restaurant' else 'organisations'}"
            fallbacks[rid] = (
                f"no {where}.metadata.timezone"
                if value in (None, "")
                else f"invalid {where}.metadata.timezone {value!r}"
            ) + f"; scheduled in {configured}"
    return Zones(zones, fallbacks)


def _metadata_zone(
    conn: Connection,
    crm: CrmColumns,
    table: str,
    sql: str,
    params: dict[str, Any],
    alias: str,
) -> dict[str, str | None]:
    """id -> ``metadata->>'timezone'`` (else ``settings->>'timezone'``) where the table has
    those columns; {} when it has neither (every row falls back)."""
    columns = crm.present(table, ("metadata", "settings"))
    if not columns:
        return {}
    expr = "COALESCE(" + ", ".join(f"{alias}.{c} ->> 'timezone'" for c in columns) + ", NULL)"
    return {str(i): z for i, z in tx(conn).rows(sql.format(expr=expr), params)}


@lru_cache(maxsize=1024)
def _parsed(record: str) -> Schedule:
    value = json.loads(record)
    return parse_schedule({k: v for k, v in value.items() if k != "zone"})


def recorded(record: Mapping[str, Any] | str) -> tuple[Schedule, ZoneInfo]:
    """A schedule recorded on a task, with its resolved zone."""
    value = json.loads(record) if isinstance(record, str) else dict(record)
    # a record edited by hand to a zone this system lacks: UTC rather than a failure
    zone = ZoneInfo(str(value["zone"]) if valid_zone(value.get("zone")) else "UTC")
    return _parsed(json.dumps(value, sort_keys=True)), zone


def write_due_dates(conn: Connection, dues: Mapping[str, datetime]) -> None:
    """task id -> due date, in one statement."""
    if not dues:
        return
    tx(conn).execute(
        "UPDATE tasks t SET due_date = v.due FROM unnest(CAST(:ids AS uuid[]),"
        " CAST(:dues AS timestamptz[])) AS v(id, due) WHERE t.id = v.id"
        " AND t.due_date IS DISTINCT FROM v.due",
        {"ids": list(dues), "dues": list(dues.values())},
    )


@dataclass(frozen=True)
class Activated:
    """A task progression activated, with what its due date was computed from."""

    task_id: str
    record: Any  # the recorded schedule (jsonb), or None
    base: datetime
    delay_value: int
    delay_unit: str
    unscheduled: datetime


def scheduled_due_dates(rows: Sequence[Activated]) -> dict[str, datetime]:
    """task id -> its due date through its recorded schedule (only tasks that have one)."""
    cache: dict[tuple[str, datetime, int, str, datetime], datetime] = {}
    out: dict[str, datetime] = {}
    for r in rows:
        if not r.record:
            continue
        key = (
            json.dumps(r.record, sort_keys=True),
            r.base,
            r.delay_value,
            r.delay_unit,
            r.unscheduled,
        )
        if key not in cache:
            schedule, zone = recorded(r.record)
            cache[key] = due_date(
                r.base, r.delay_value, r.delay_unit, schedule, zone, unscheduled=r.unscheduled
            )
        out[r.task_id] = cache[key]
    return out


def reschedule_active(conn: Connection, instance_ids: Sequence[str]) -> dict[str, datetime]:
    """Move the scheduled active tasks of the instances forward into their schedule (after
    ``resume`` pushed their due dates back); task id -> new due date. Two statements."""
    rows = tx(conn).rows(
        "SELECT id::text, due_date, metadata -> 'sequence' -> 'schedule' AS record"
        " FROM tasks WHERE sequence_instance_id = ANY(CAST(:ids AS uuid[]))"
        " AND status = 'active' AND due_date IS NOT NULL"
        " AND metadata -> 'sequence' ? 'schedule'",
        {"ids": list(instance_ids)},
    )
    dues: dict[str, datetime] = {}
    for task_id, due, record in rows:
        schedule, zone = recorded(record)
        moved = next_allowed(due, schedule, zone)
        if moved != due:
            dues[task_id] = moved
    write_due_dates(conn, dues)
    return dues


@dataclass
class ApplySchedule:
    """What ``apply`` needs to schedule one run's tasks: each step's schedule, each
    restaurant's zone, and the first step's due date per zone (computed once)."""

    template: TemplateSchedule
    zones: Zones
    configured: str
    now: datetime
    _first: dict[str, datetime | None] = field(default_factory=dict)

    def zone(self, restaurant_id: str) -> str:
        return self.zones.by_restaurant.get(restaurant_id, self.configured)

    def first_due(self, restaurant_id: str, delay_value: int, delay_unit: str) -> datetime | None:
        """The first step's due date for the restaurant; None if that step is unscheduled."""
        zone = self.zone(restaurant_id)
        if zone not in self._first:
            step = self.template.steps.get(1)
            self._first[zone] = (
                None
                if step is None
                else due_date(
                    self.now,
                    delay_value,
                    delay_unit,
                    step.schedule,
                    ZoneInfo(zone),
                    configured=ZoneInfo(self.configured),
                )
            )
        return self._first[zone]

    def records(self) -> dict[int, dict[str, Any]]:
        """position -> the schedule its tasks record (the zone is added per restaurant)."""
        return {p: s.record for p, s in self.template.steps.items()}

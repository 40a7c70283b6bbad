"""Schedules against the real PostgreSQL (§10): apply in several zones, progression with
business days, resume, and the schedule recorded on each task (template edits after the
start change nothing)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text

from seqctl.runtime import lifecycle, progression
from seqctl.runtime.apply import apply_template

from .sequences_helpers import (
    FOGON,
    LUIGI,
    SAKURA,
    S,
    context_options,
    demo_organisation,
    make_template,
    runtime_context,
    tasks_of,
)
from .statements import captured

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday 09:00 UTC = 22:00 NZDT
AKL = ZoneInfo("Pacific/Auckland")
SCHEDULE = {
    "timezone": "restaurant",
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "hours": "09:00-12:00, 14:30-17:00",
    "holidays": "NZ",
    "count": "business",
}


def nz(*args: int) -> datetime:
    return datetime(*args, tzinfo=AKL).astimezone(UTC)  # type: ignore[misc]


def scheduled_template(engine: Engine, org: str, schedule: dict[str, Any] = SCHEDULE) -> str:
    tid = make_template(
        engine,
        org,
        "Scheduled calls",
        [
            S("Intro call", 0, metadata={"seqctl": {"hours": "14:30-17:00"}}),
            S("Follow up", 1, "days"),
            S("Last call", 30, "minutes"),
        ],
    )
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE sequence_templates SET metadata = jsonb_build_object('seqctl',"
                " jsonb_build_object('schedule', CAST(:s AS jsonb))) WHERE id = :id"
            ),
            {"s": json.dumps(schedule), "id": tid},
        )
    return tid


def set_zones(engine: Engine, zones: dict[str, str | None]) -> None:
    with engine.begin() as conn:
        for rid, zone in zones.items():
            conn.execute(
                text(
                    "UPDATE restaurants SET metadata = COALESCE(metadata, '{}'::jsonb)"
                    " || jsonb_build_object('timezone', CAST(:z AS text)) WHERE id = :id"
                ),
                {"z": zone, "id": rid},
            )


def apply(engine: Engine, org: str, tid: str, restaurants: list[str], **kw: Any) -> Any:
    with engine.begin() as conn:
        return apply_template(
            runtime_context(conn, demo_organisation(org), now=T0, **context_options(kw)),
            tid,
            restaurants,
            **kw,
        )


def test_apply_in_several_zones_records_the_schedule(engine: Engine, demo_org: str) -> None:
    tid = scheduled_template(engine, demo_org)
    set_zones(engine, {LUIGI: "Pacific/Auckland", SAKURA: "America/New_York", FOGON: "Mars/Base"})
    preview = apply(engine, demo_org, tid, [LUIGI, SAKURA, FOGON], dry_run=True)
    assert set(preview.zone_fallbacks) == {FOGON}
    assert "invalid restaurants.metadata.timezone 'Mars/Base'" in preview.zone_fallbacks[FOGON]
    report = apply(engine, demo_org, tid, [LUIGI, SAKURA, FOGON])
    by_restaurant = {o.restaurant_id: o.instance_id for o in report.outcomes}
    first = {rid: tasks_of(engine, iid)[0] for rid, iid in by_restaurant.items()}
    # the step's own window 14:30-17:00, in each restaurant's zone
    assert first[LUIGI]["due_date"] == nz(2026, 3, 3, 14, 30)  # Monday 22:00 -> Tuesday
    assert first[SAKURA]["due_date"] == datetime(2026, 3, 2, 19, 30, tzinfo=UTC)  # 14:30 EST
    assert first[FOGON]["due_date"] == datetime(2026, 3, 2, 14, 30, tzinfo=UTC)  # fallback UTC
    # the dry run showed the same due dates
    assert {p.restaurant_id: p.tasks[0].due_date for p in preview.previews} == {
        rid: t["due_date"] for rid, t in first.items()
    }
    recorded = first[LUIGI]["metadata"]["sequence"]["schedule"]
    assert recorded == {**SCHEDULE, "hours": "14:30-17:00", "zone": "Pacific/Auckland"}
    second = tasks_of(engine, by_restaurant[LUIGI])[1]
    assert second["metadata"]["sequence"]["schedule"]["hours"] == "09:00-12:00, 14:30-17:00"
    assert second["due_date"] is None


def test_unscheduled_template_records_no_schedule(engine: Engine, demo_org: str) -> None:
    tid = make_template(engine, demo_org, "Plain", [S("Call", 2, "hours")])
    report = apply(engine, demo_org, tid, [LUIGI])
    [task] = tasks_of(engine, report.outcomes[0].instance_id)
    assert task["due_date"] == T0 + timedelta(hours=2)
    assert "schedule" not in task["metadata"]["sequence"]


def test_progression_counts_business_days_with_the_recorded_schedule(
    engine: Engine, demo_org: str
) -> None:
    tid = scheduled_template(engine, demo_org)
    set_zones(engine, {LUIGI: "Pacific/Auckland"})
    iid = apply(engine, demo_org, tid, [LUIGI]).outcomes[0].instance_id
    # the template loses its schedule after the start: running instances keep theirs
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE sequence_templates SET metadata = '{}' WHERE id = :id"), {"id": tid}
        )
        conn.execute(
            text("UPDATE sequence_steps SET metadata = '{}' WHERE sequence_template_id = :id"),
            {"id": tid},
        )
    t1, t2, t3 = tasks_of(engine, iid)
    friday_evening = nz(2026, 3, 6, 19, 0)
    with engine.begin() as conn:
        [outcome] = progression.complete_tasks(
            runtime_context(conn, demo_org, now=friday_evening), [t1["id"]]
        )
    # one business day after Friday 19:00 is Monday 19:00, after the windows -> Tuesday 09:00
    assert outcome.moves[0].due_date == nz(2026, 3, 10, 9, 0)
    assert outcome.moves[0].scheduled_in == "Pacific/Auckland"
    assert tasks_of(engine, iid)[1]["due_date"] == nz(2026, 3, 10, 9, 0)
    # 30 minutes after 11:45 is 12:15, between the windows -> 14:30
    with engine.begin() as conn:
        progression.complete_tasks(
            runtime_context(conn, demo_org, now=nz(2026, 3, 10, 11, 45)), [t2["id"]]
        )
    assert tasks_of(engine, iid)[2]["due_date"] == nz(2026, 3, 10, 14, 30)


def test_advance_and_holidays(engine: Engine, demo_org: str) -> None:
    tid = scheduled_template(engine, demo_org)
    set_zones(engine, {LUIGI: "Pacific/Auckland"})
    iid = apply(engine, demo_org, tid, [LUIGI]).outcomes[0].instance_id
    t1 = tasks_of(engine, iid)[0]
    # completed by another client on Thursday 24 December, 10:00: `advance` moves it on.
    # Christmas (Fri), the weekend and Boxing Day observed (Mon 28) are not business days
    done = nz(2026, 12, 24, 10, 0)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE tasks SET status = 'completed', completed_at = :at WHERE id = :id"),
            {"at": done, "id": t1["id"]},
        )
    with engine.begin() as conn:
        progression.advance(runtime_context(conn, demo_org, now=done + timedelta(minutes=5)))
    assert tasks_of(engine, iid)[1]["due_date"] == nz(2026, 12, 29, 10, 0)


def test_resume_moves_the_due_date_into_the_schedule(engine: Engine, demo_org: str) -> None:
    tid = scheduled_template(engine, demo_org)
    set_zones(engine, {LUIGI: "Pacific/Auckland"})
    iid = apply(engine, demo_org, tid, [LUIGI]).outcomes[0].instance_id
    due = tasks_of(engine, iid)[0]["due_date"]
    assert due == nz(2026, 3, 3, 14, 30)
    with engine.begin() as conn:
        lifecycle.pause(runtime_context(conn, demo_org, now=T0), [iid])
    # paused for 3 hours: 17:30 is after the step's window -> Wednesday 14:30
    with engine.begin() as conn:
        lifecycle.resume(runtime_context(conn, demo_org, now=T0 + timedelta(hours=3)), [iid])
    assert tasks_of(engine, iid)[0]["due_date"] == nz(2026, 3, 4, 14, 30)


def test_restaurants_without_a_metadata_column_fall_back(engine: Engine, demo_org: str) -> None:
    tid = scheduled_template(engine, demo_org)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE restaurants DROP COLUMN metadata"))
    report = apply(engine, demo_org, tid, [LUIGI], timezone="Europe/Berlin")
    assert "no restaurants.metadata.timezone" in report.zone_fallbacks[LUIGI]
    [t1, *_] = tasks_of(engine, report.outcomes[0].instance_id)
    # Monday 10:00 in Berlin -> 14:30 the same day, in the configured zone
    assert t1["due_date"] == datetime(2026, 3, 2, 14, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert t1["metadata"]["sequence"]["schedule"]["zone"] == "Europe/Berlin"


def test_organisation_zone(engine: Engine, demo_org: str) -> None:
    tid = scheduled_template(engine, demo_org, {**SCHEDULE, "timezone": "organisation"})
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE organisations ADD COLUMN IF NOT EXISTS metadata jsonb"))
        conn.execute(
            text(
                'UPDATE organisations SET metadata = \'{"timezone": "America/New_York"}\''
                " WHERE id = :id"
            ),
            {"id": demo_org},
        )
    report = apply(engine, demo_org, tid, [LUIGI])
    assert report.zone_fallbacks == {}
    [t1, *_] = tasks_of(engine, report.outcomes[0].instance_id)
    assert t1["due_date"] == datetime(2026, 3, 2, 19, 30, tzinfo=UTC)


def test_scheduled_apply_statement_count_does_not_grow(engine: Engine, demo_org: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO restaurants (organisation_id, name, metadata) SELECT :org,"
                " 'Zoned ' || g, jsonb_build_object('timezone', (ARRAY['Pacific/Auckland',"
                " 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo'])[1 + g % 4])"
                " FROM generate_series(1, 200) g"
            ),
            {"org": demo_org},
        )

    def counted(refs: list[str]) -> int:
        tid = scheduled_template(engine, demo_org)
        with captured(engine) as statements:
            apply(engine, demo_org, tid, refs)
        return len(statements)

    few = counted(["Zoned 1"])
    many = counted([f"Zoned {i}" for i in range(1, 201)])
    assert few == many <= 13

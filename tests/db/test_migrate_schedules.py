"""`seqctl migrate` with schedules (spec §9, §10), against the real PostgreSQL: a step that
starts now and a rescheduled active task are due exactly as progression makes them due
(business hours and days in the restaurant's zone, holidays), each task records the
schedule it was scheduled with, and a schedule changed in the new version reaches the
pending tasks (the preview shows it), so progression afterwards uses the new one."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, event, text

from seqctl.runtime import progression
from seqctl.runtime.migrate_instances import Migration, migrate_instances

from .sequences_helpers import LUIGI, SAKURA, demo_organisation, runtime_context, tasks_of
from .test_schedule_due_dates import SCHEDULE, apply, nz, scheduled_template, set_zones


def migrate(engine: Engine, org: str, tid: str, now: datetime, **kw: Any) -> Migration:
    with engine.begin() as conn:
        return migrate_instances(conn, demo_organisation(org), tid, now=now, **kw)


def by_name(engine: Engine, instance_id: str) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in tasks_of(engine, instance_id)}


def complete(engine: Engine, org: str, task_id: str, now: datetime) -> None:
    with engine.begin() as conn:
        progression.complete_tasks(runtime_context(conn, org, now=now), [task_id])


def test_removed_active_step_starts_the_next_in_the_schedule(engine: Engine, demo_org: str) -> None:
    tid = scheduled_template(engine, demo_org)
    set_zones(engine, {LUIGI: "Pacific/Auckland", SAKURA: "America/New_York"})
    report = apply(engine, demo_org, tid, [LUIGI, SAKURA])
    iids = {o.restaurant_id: o.instance_id for o in report.outcomes}
    with engine.begin() as conn:  # the active step "Intro call" is removed (a new version)
        conn.execute(
            text("DELETE FROM sequence_steps WHERE sequence_template_id = :t AND step_order = 1"),
            {"t": tid},
        )
    friday = nz(2026, 3, 6, 19, 0)  # Friday 19:00 in Auckland = Friday 01:00 in New York
    migration = migrate(engine, demo_org, tid, friday)
    luigi, sakura = by_name(engine, iids[LUIGI]), by_name(engine, iids[SAKURA])
    # one business day after Friday 19:00 is Monday 19:00, after the windows: Tuesday 09:00
    assert luigi["Follow up"]["status"] == "active"
    assert luigi["Follow up"]["due_date"] == nz(2026, 3, 10, 9, 0)
    # New York: Monday 01:00 (EDT since Sunday's DST change), before the windows: 09:00 EDT
    assert sakura["Follow up"]["due_date"] == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)
    # each records the schedule it was scheduled with, in its zone, and when it started
    sequence = luigi["Follow up"]["metadata"]["sequence"]
    assert sequence["schedule"] == {**SCHEDULE, "zone": "Pacific/Auckland"}
    assert datetime.fromisoformat(sequence["activated_at"]) == friday
    assert sakura["Follow up"]["metadata"]["sequence"]["schedule"]["zone"] == "America/New_York"
    assert luigi["Intro call"]["status"] == "cancelled"
    # the preview showed exactly those due dates
    dues = {m.restaurant_id: [d.new for d in m.due_changes] for m in migration.instances}
    assert dues == {
        LUIGI: [nz(2026, 3, 10, 9, 0)],
        SAKURA: [datetime(2026, 3, 9, 13, 0, tzinfo=UTC)],
    }


def _delay(engine: Engine, tid: str, name: str, value: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE sequence_steps SET delay_value = :v WHERE sequence_template_id = :t"
                " AND name = :n"
            ),
            {"v": value, "t": tid, "n": name},
        )


def test_reschedule_counts_business_days_from_the_activation(engine: Engine, demo_org: str) -> None:
    tid = scheduled_template(engine, demo_org)
    set_zones(engine, {LUIGI: "Pacific/Auckland"})
    iid = apply(engine, demo_org, tid, [LUIGI]).outcomes[0].instance_id
    tuesday = nz(2026, 3, 3, 15, 0)
    complete(engine, demo_org, by_name(engine, iid)["Intro call"]["id"], tuesday)
    assert by_name(engine, iid)["Follow up"]["due_date"] == nz(2026, 3, 4, 15, 0)
    _delay(engine, tid, "Follow up", 3)
    later = nz(2026, 3, 4, 9, 30)
    # without --reschedule the promise stands; the recorded delay follows the step
    migrate(engine, demo_org, tid, later)
    follow = by_name(engine, iid)["Follow up"]
    assert follow["due_date"] == nz(2026, 3, 4, 15, 0)
    assert follow["metadata"]["sequence"]["delay_value"] == 3
    _delay(engine, tid, "Follow up", 4)
    # --reschedule: 4 business days after Tuesday 15:00 (Wed, Thu, Fri, Mon) in Auckland
    migration = migrate(engine, demo_org, tid, later, reschedule=True)
    follow = by_name(engine, iid)["Follow up"]
    assert follow["due_date"] == nz(2026, 3, 9, 15, 0)
    assert [(d.old, d.new) for d in migration.instances[0].due_changes] == [
        (nz(2026, 3, 4, 15, 0), nz(2026, 3, 9, 15, 0))
    ]
    assert follow["metadata"]["sequence"]["schedule"]["zone"] == "Pacific/Auckland"


def test_reschedule_skips_a_holiday_and_the_weekend(engine: Engine, demo_org: str) -> None:
    tid = scheduled_template(engine, demo_org)
    set_zones(engine, {LUIGI: "Pacific/Auckland"})
    iid = apply(engine, demo_org, tid, [LUIGI]).outcomes[0].instance_id
    # Intro call completed on Wednesday 23 December 2026, 11:00 in Auckland
    complete(engine, demo_org, by_name(engine, iid)["Intro call"]["id"], nz(2026, 12, 23, 11, 0))
    assert by_name(engine, iid)["Follow up"]["due_date"] == nz(2026, 12, 24, 11, 0)
    _delay(engine, tid, "Follow up", 2)
    migrate(engine, demo_org, tid, nz(2026, 12, 24, 8, 0), reschedule=True)
    # Thu 24 is one; Christmas (Fri), the weekend and Boxing Day observed (Mon 28) are not
    assert by_name(engine, iid)["Follow up"]["due_date"] == nz(2026, 12, 29, 11, 0)


def test_a_new_schedule_reaches_pending_tasks_and_progression_uses_it(
    engine: Engine, demo_org: str
) -> None:
    tid = scheduled_template(engine, demo_org)
    set_zones(engine, {LUIGI: "Pacific/Auckland"})
    iid = apply(engine, demo_org, tid, [LUIGI]).outcomes[0].instance_id
    active_due = by_name(engine, iid)["Intro call"]["due_date"]
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE sequence_templates SET metadata = jsonb_build_object('seqctl',"
                " jsonb_build_object('schedule', CAST(:s AS jsonb))) WHERE id = :id"
            ),
            {"s": json.dumps({**SCHEDULE, "hours": "13:00-15:00"}), "id": tid},
        )
    migration = migrate(engine, demo_org, tid, nz(2026, 3, 3, 8, 0))
    [instance] = migration.instances
    changed = {s.name: [f.field for f in s.fields] for s in instance.steps if s.fields}
    # the Intro call keeps its own window: only the other steps' schedule changed
    assert changed == {"Follow up": ["schedule"], "Last call": ["schedule"]}
    tasks = by_name(engine, iid)
    assert tasks["Intro call"]["due_date"] == active_due  # the active task keeps its date
    record = tasks["Follow up"]["metadata"]["sequence"]["schedule"]
    assert record == {**SCHEDULE, "hours": "13:00-15:00", "zone": "Pacific/Auckland"}
    # progression now uses the new schedule: one business day after Tuesday 10:00 is
    # Wednesday 10:00, before the new window: 13:00 (the old one would have said 10:00)
    complete(engine, demo_org, tasks["Intro call"]["id"], nz(2026, 3, 3, 10, 0))
    assert by_name(engine, iid)["Follow up"]["due_date"] == nz(2026, 3, 4, 13, 0)


def test_unscheduled_migration_records_no_schedule(engine: Engine, demo_org: str) -> None:
    from .sequences_helpers import S, make_template

    tid = make_template(engine, demo_org, "Plain", [S("Call", 0), S("Email", 2, "hours")])
    iid = apply(engine, demo_org, tid, [LUIGI]).outcomes[0].instance_id
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM sequence_steps WHERE sequence_template_id = :t AND name = 'Call'"),
            {"t": tid},
        )
    now = nz(2026, 3, 6, 19, 0)
    migrate(engine, demo_org, tid, now)
    email = by_name(engine, iid)["Email"]
    assert email["status"] == "active"
    assert email["due_date"] == datetime(2026, 3, 6, 8, 0, tzinfo=UTC)  # now + 2 hours
    assert "schedule" not in email["metadata"]["sequence"]


def test_scheduled_migration_statement_count_does_not_grow(engine: Engine, demo_org: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO restaurants (organisation_id, name, metadata) SELECT :org,"
                " 'Zoned ' || g, jsonb_build_object('timezone', (ARRAY['Pacific/Auckland',"
                " 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo'])[1 + g % 4])"
                " FROM generate_series(1, 120) g"
            ),
            {"org": demo_org},
        )

    def counted(refs: list[str]) -> tuple[int, Migration]:
        tid = scheduled_template(engine, demo_org)
        apply(engine, demo_org, tid, refs)
        with engine.begin() as conn:  # the active step is removed: the next starts now
            conn.execute(
                text(
                    "DELETE FROM sequence_steps WHERE sequence_template_id = :t AND step_order = 1"
                ),
                {"t": tid},
            )
        statements: list[str] = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            migration = migrate(engine, demo_org, tid, nz(2026, 3, 6, 19, 0), reschedule=True)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements), migration

    few, _ = counted(["Zoned 1"])
    many, migration = counted([f"Zoned {i}" for i in range(1, 121)])
    assert few == many
    assert len(migration.instances) == 120
    # four zones: four different due dates for the step that starts now
    assert len({d.new for m in migration.instances for d in m.due_changes}) == 4

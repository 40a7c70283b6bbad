"""`task complete`, `task skip`, `advance`: the next step at completion + recorded delay."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from seqctl.db.connection import make_engine
from seqctl.errors import NotFound, Refused, UsageError
from seqctl.runtime import lifecycle, progression
from seqctl.runtime.apply import apply_template

from .sequences_helpers import (
    LUIGI,
    SAKURA,
    T0,
    S,
    context_options,
    count,
    demo_organisation,
    instance,
    make_template,
    runtime_context,
    tasks_of,
)

MIXED = [S("Intro call", 10, "minutes"), S("Send menu", 3, "hours"), S("Check in", 2, "days")]


def start(
    engine: Engine,
    org: str,
    steps: list[S],
    restaurant: str = LUIGI,
    now: datetime = T0,
    timezone: str = "UTC",
) -> str:
    tid = make_template(engine, org, "Onboarding", steps)
    with engine.begin() as conn:
        report = apply_template(
            runtime_context(conn, demo_organisation(org), now=now, timezone=timezone),
            tid,
            [restaurant],
        )
    instance_id = report.outcomes[0].instance_id
    assert instance_id is not None
    return instance_id


def run(engine: Engine, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    with engine.begin() as conn:
        org, *rest = args
        return fn(runtime_context(conn, org, **context_options(kw)), *rest, **kw)


def active_task(engine: Engine, instance_id: str) -> dict[str, Any]:
    [task] = [t for t in tasks_of(engine, instance_id) if t["status"] == "active"]
    return task


def test_walk_a_sequence_with_mixed_delays(engine: Engine, demo_org: str) -> None:
    iid = start(engine, demo_org, MIXED)
    t1, t2, t3 = tasks_of(engine, iid)
    assert t1["due_date"] == T0 + timedelta(minutes=10)
    done1 = T0 + timedelta(minutes=25)
    [outcome] = run(engine, progression.complete_tasks, demo_org, [t1["id"]], now=done1)
    assert outcome.result == "completed"
    assert [(m.what, m.step, m.due_date) for m in outcome.moves] == [
        ("activated", 2, done1 + timedelta(hours=3))
    ]
    assert instance(engine, iid)["current_step_order"] == 2
    done2 = done1 + timedelta(hours=5)
    run(engine, progression.complete_tasks, demo_org, [t2["id"]], now=done2)
    assert active_task(engine, iid)["id"] == t3["id"]
    assert active_task(engine, iid)["due_date"] == done2 + timedelta(days=2)
    assert instance(engine, iid)["current_step_order"] == 3
    done3 = done2 + timedelta(days=3)
    [outcome] = run(engine, progression.complete_tasks, demo_org, [t3["id"]], now=done3)
    assert [m.what for m in outcome.moves] == ["completed"]
    assert outcome.instance_status == "completed"
    inst = instance(engine, iid)
    assert (inst["status"], inst["completed_at"]) == ("completed", done3)
    assert [t["status"] for t in tasks_of(engine, iid)] == ["completed"] * 3
    assert [t["completed_at"] for t in tasks_of(engine, iid)] == [done1, done2, done3]


def test_skip_and_out_of_order_completion(engine: Engine, demo_org: str) -> None:
    iid = start(
        engine, demo_org, [S("One step"), S("Two step", 1), S("Three step", 2), S("Four step", 3)]
    )
    t1, t2, t3, t4 = tasks_of(engine, iid)
    [o] = run(engine, progression.skip_tasks, demo_org, [t1["id"]], now=T0)
    assert o.result == "skipped" and o.moves[0].task_id == t2["id"]
    # step 3 done early (pending): recorded, nothing activated while step 2 is active
    [o] = run(engine, progression.complete_tasks, demo_org, [t3["id"]], now=T0)
    assert o.moves == [] and active_task(engine, iid)["id"] == t2["id"]
    later = T0 + timedelta(hours=1)
    [o] = run(engine, progression.complete_tasks, demo_org, [t2["id"]], now=later)
    assert o.moves[0].task_id == t4["id"]  # the next *pending* task
    assert o.moves[0].due_date == later + timedelta(days=3)
    statuses = [t["status"] for t in tasks_of(engine, iid)]
    assert statuses == ["cancelled", "completed", "completed", "active"]


def test_completing_twice_is_a_no_op_and_wrong_states_are_refused(
    engine: Engine, demo_org: str
) -> None:
    iid = start(engine, demo_org, MIXED)
    t1, t2, t3 = tasks_of(engine, iid)
    run(engine, progression.complete_tasks, demo_org, [t1["id"]], now=T0)
    [again] = run(engine, progression.complete_tasks, demo_org, [t1["id"]], now=T0)
    assert (again.result, again.moves, again.changed) == ("already_completed", [], False)
    assert len([t for t in tasks_of(engine, iid) if t["status"] == "active"]) == 1
    with pytest.raises(Refused, match="is completed; only active or pending tasks can be skip"):
        run(engine, progression.skip_tasks, demo_org, [t1["id"]], now=T0)
    run(engine, progression.skip_tasks, demo_org, [t3["id"]], now=T0)
    [again] = run(engine, progression.skip_tasks, demo_org, [t3["id"]], now=T0)
    assert again.result == "already_skipped"
    with pytest.raises(Refused, match=f"task {t3['id']} .* is cancelled"):
        run(engine, progression.complete_tasks, demo_org, [t2["id"], t3["id"]], now=T0)
    assert active_task(engine, iid)["id"] == t2["id"]  # all or nothing: t2 untouched


def test_tasks_outside_the_organisation_or_sequence(engine: Engine, demo_org: str) -> None:
    with pytest.raises(UsageError, match="not a task id: 'nope'"):
        run(engine, progression.complete_tasks, demo_org, ["nope"])
    with pytest.raises(NotFound, match="00000000-0000-0000-0000-000000000009"):
        run(engine, progression.complete_tasks, demo_org, ["00000000-0000-0000-0000-000000000009"])
    with engine.begin() as conn:
        standalone = str(
            conn.execute(
                text(
                    "INSERT INTO tasks (organisation_id, name, type) VALUES (:o, 'Lone', 'call')"
                    " RETURNING id"
                ),
                {"o": demo_org},
            ).scalar_one()
        )
    with pytest.raises(Refused, match="not part of a sequence"):
        run(engine, progression.complete_tasks, demo_org, [standalone])


def test_pause_complete_resume_advance(engine: Engine, demo_org: str) -> None:
    iid = start(engine, demo_org, MIXED)
    t1, t2, _ = tasks_of(engine, iid)
    paused_at = T0 + timedelta(minutes=5)
    run(engine, lifecycle.pause, demo_org, [iid], now=paused_at)
    [o] = run(engine, progression.complete_tasks, demo_org, [t1["id"]], now=T0 + timedelta(hours=1))
    assert (o.result, o.moves, o.instance_status) == ("completed", [], "paused")
    assert [t["status"] for t in tasks_of(engine, iid)] == ["completed", "pending", "pending"]
    assert run(engine, progression.advance, demo_org, now=T0 + timedelta(hours=2)).moves == []
    resumed_at = T0 + timedelta(days=1)
    [tr] = run(engine, lifecycle.resume, demo_org, [iid], now=resumed_at)
    assert tr.to_status == "active"
    assert run(engine, progression.advance, demo_org, now=resumed_at).moves == []
    step2 = active_task(engine, iid)
    # the delay counts from the resume: time spent paused does not
    assert (step2["id"], step2["due_date"]) == (t2["id"], resumed_at + timedelta(hours=3))
    assert instance(engine, iid)["current_step_order"] == 2


def test_advance_catches_up_after_resume_by_another_client(engine: Engine, demo_org: str) -> None:
    iid = start(engine, demo_org, MIXED)
    t1, t2, _ = tasks_of(engine, iid)
    run(engine, lifecycle.pause, demo_org, [iid], now=T0)
    done = T0 + timedelta(hours=1)
    run(engine, progression.complete_tasks, demo_org, [t1["id"]], now=done)
    with engine.begin() as conn:  # the web app resumes without moving anything on
        conn.execute(
            text("UPDATE sequence_instances SET status = 'active', paused_at = NULL WHERE id = :i"),
            {"i": iid},
        )
    report = run(engine, progression.advance, demo_org, now=done + timedelta(days=1))
    assert [(m.what, m.task_id) for m in report.moves] == [("activated", t2["id"])]
    assert active_task(engine, iid)["due_date"] == done + timedelta(hours=3)


def test_template_edits_after_start_change_nothing(engine: Engine, demo_org: str) -> None:
    iid = start(engine, demo_org, MIXED)
    t1, t2, t3 = tasks_of(engine, iid)
    with engine.begin() as conn:
        conn.execute(text("UPDATE sequence_steps SET delay_value = 99, delay_unit = 'days'"))
        conn.execute(text("DELETE FROM sequence_steps WHERE step_order = 3"))
    run(engine, progression.complete_tasks, demo_org, [t1["id"]], now=T0)
    assert active_task(engine, iid)["due_date"] == T0 + timedelta(hours=3)
    run(engine, progression.complete_tasks, demo_org, [t2["id"]], now=T0)
    assert active_task(engine, iid)["id"] == t3["id"]
    assert active_task(engine, iid)["due_date"] == T0 + timedelta(days=2)
    assert instance(engine, iid)["total_steps"] == 3


def test_tasks_made_by_another_client_fall_back_to_the_template(
    engine: Engine, demo_org: str
) -> None:
    iid = start(engine, demo_org, MIXED)
    t1, t2, _ = tasks_of(engine, iid)
    with engine.begin() as conn:
        conn.execute(text("UPDATE tasks SET metadata = '{}'::jsonb WHERE id = :t"), {"t": t2["id"]})
    run(engine, progression.complete_tasks, demo_org, [t1["id"]], now=T0)
    assert active_task(engine, iid)["due_date"] == T0 + timedelta(hours=3)


def test_advance_reconciles_changes_made_by_the_web_app(engine: Engine, demo_org: str) -> None:
    a = start(engine, demo_org, MIXED)
    b = start(engine, demo_org, [S("Only step")], restaurant=SAKURA)
    done = T0 + timedelta(hours=2)
    with engine.begin() as conn:  # the web app completes / cancels without moving on
        conn.execute(
            text(
                "UPDATE tasks SET status = 'completed', completed_at = :d"
                " WHERE sequence_instance_id = :i AND status = 'active'"
            ),
            {"d": done, "i": a},
        )
        conn.execute(
            text("UPDATE tasks SET status = 'cancelled' WHERE sequence_instance_id = :i"), {"i": b}
        )
    report = run(engine, progression.advance, demo_org, now=done + timedelta(minutes=1))
    assert sorted(m.what for m in report.moves) == ["activated", "completed"]
    assert active_task(engine, a)["due_date"] == done + timedelta(hours=3)
    assert instance(engine, b)["status"] == "completed"
    assert run(engine, progression.advance, None, now=done).moves == []


@pytest.mark.parametrize(
    ("finished", "delay", "due"),
    [
        # spring forward (2026-03-08): a calendar day is 23 hours, hours stay exact
        (
            datetime(2026, 3, 7, 17, 0, tzinfo=UTC),
            S("Next step", 1, "days"),
            datetime(2026, 3, 8, 16, 0, tzinfo=UTC),
        ),
        (
            datetime(2026, 3, 7, 17, 0, tzinfo=UTC),
            S("Next step", 24, "hours"),
            datetime(2026, 3, 8, 17, 0, tzinfo=UTC),
        ),
        # fall back (2026-11-01): a calendar day is 25 hours
        (
            datetime(2026, 10, 31, 16, 0, tzinfo=UTC),
            S("Next step", 1, "days"),
            datetime(2026, 11, 1, 17, 0, tzinfo=UTC),
        ),
        (
            datetime(2026, 10, 31, 16, 0, tzinfo=UTC),
            S("Next step", 1440, "minutes"),
            datetime(2026, 11, 1, 16, 0, tzinfo=UTC),
        ),
    ],
)
def test_calendar_days_across_dst(
    engine: Engine, demo_org: str, finished: datetime, delay: S, due: datetime
) -> None:
    zone = "America/New_York"
    iid = start(engine, demo_org, [S("First step"), delay], now=finished, timezone=zone)
    t1 = tasks_of(engine, iid)[0]
    run(engine, progression.complete_tasks, demo_org, [t1["id"]], now=finished, timezone=zone)
    assert active_task(engine, iid)["due_date"] == due


def test_concurrent_completions_activate_the_next_step_once(
    database_url: str, engine: Engine, demo_org: str
) -> None:
    iid = start(engine, demo_org, MIXED)
    t1 = tasks_of(engine, iid)[0]
    results = _in_threads(
        database_url,
        8,
        lambda conn: progression.complete_tasks(
            runtime_context(conn, demo_org, now=T0), [t1["id"]]
        )[0],
    )
    assert sorted(r.result for r in results) == ["already_completed"] * 7 + ["completed"]
    assert sum(len(r.moves) for r in results) == 1
    assert [t["status"] for t in tasks_of(engine, iid)] == ["completed", "active", "pending"]


def test_concurrent_advance_runs_move_each_instance_once(
    database_url: str, engine: Engine, demo_org: str
) -> None:
    ids = [start(engine, demo_org, MIXED, restaurant=r) for r in (LUIGI, SAKURA)]
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE tasks SET status = 'completed', completed_at = :t WHERE status = 'active'"
            ),
            {"t": T0},
        )
    reports = _in_threads(
        database_url, 8, lambda conn: progression.advance(runtime_context(conn, demo_org, now=T0))
    )
    assert sum(len(r.moves) for r in reports) == 2
    for iid in ids:
        assert [t["status"] for t in tasks_of(engine, iid)] == ["completed", "active", "pending"]
    assert count(engine, "SELECT count(*) FROM tasks WHERE status = 'active'") == 2


def test_deleting_an_instance_keeps_its_tasks_unlinked(engine: Engine, demo_org: str) -> None:
    iid = start(engine, demo_org, MIXED)
    ids = [t["id"] for t in tasks_of(engine, iid)]
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM sequence_instances WHERE id = :i"), {"i": iid})
    assert (
        count(
            engine,
            "SELECT count(*) FROM tasks WHERE id = ANY(CAST(:ids AS uuid[]))"
            " AND sequence_instance_id IS NULL AND sequence_step_order IS NULL",
            ids=ids,
        )
        == 3
    )


def _in_threads(database_url: str, n: int, work: Callable[[Any], Any]) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = []
    errors: list[BaseException] = []

    def worker() -> None:
        own = make_engine(database_url)
        try:
            with own.begin() as conn:
                barrier.wait()
                results.append(work(conn))
        except BaseException as error:  # noqa: BLE001 - asserted below
            errors.append(error)
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results

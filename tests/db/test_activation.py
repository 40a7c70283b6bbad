"""`metadata.sequence.activated_at`: recorded on every activation (apply, progression,
advance, resume), the moment the step's delay counts from."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from seqctl.runtime import lifecycle, progression

from .sequences_helpers import T0, S, tasks_of
from .test_progression import run, start

STEPS = [S("Intro call", 10, "minutes"), S("Send menu", 3, "hours"), S("Check in", 2, "days")]


def activated(task: dict[str, Any]) -> datetime | None:
    value = (task["metadata"] or {}).get("sequence", {}).get("activated_at")
    return None if value is None else datetime.fromisoformat(value)


def test_apply_records_the_first_steps_activation_only(engine: Engine, demo_org: str) -> None:
    iid = start(engine, demo_org, STEPS)
    t1, t2, t3 = tasks_of(engine, iid)
    assert activated(t1) == T0
    assert activated(t2) is None and activated(t3) is None
    # the rest of the recorded step metadata is kept
    assert t1["metadata"]["sequence"]["delay_value"] == 10


def test_complete_and_skip_record_the_activation(engine: Engine, demo_org: str) -> None:
    iid = start(engine, demo_org, STEPS)
    t1, t2, t3 = tasks_of(engine, iid)
    done1 = T0 + timedelta(minutes=40)
    run(engine, progression.complete_tasks, demo_org, [t1["id"]], now=done1)
    t1, t2, t3 = tasks_of(engine, iid)
    assert activated(t2) == done1
    assert t2["due_date"] - activated(t2) == timedelta(hours=3)  # type: ignore[operator]
    assert activated(t1) == T0  # not moved by the completion
    done2 = done1 + timedelta(hours=1)
    run(engine, progression.skip_tasks, demo_org, [t2["id"]], now=done2)
    assert activated(tasks_of(engine, iid)[2]) == done2
    assert tasks_of(engine, iid)[2]["metadata"]["sequence"]["delay_unit"] == "days"


def test_advance_records_the_completion_time_it_counts_from(engine: Engine, demo_org: str) -> None:
    iid = start(engine, demo_org, STEPS)
    t1 = tasks_of(engine, iid)[0]
    elsewhere = T0 + timedelta(minutes=30)
    with engine.begin() as conn:  # completed by another client (the web app)
        conn.execute(
            text("UPDATE tasks SET status = 'completed', completed_at = :at WHERE id = :id"),
            {"at": elsewhere, "id": t1["id"]},
        )
    run(engine, progression.advance, demo_org, now=elsewhere + timedelta(hours=2))
    assert activated(tasks_of(engine, iid)[1]) == elsewhere


def test_resume_records_the_activation_of_the_next_step(engine: Engine, demo_org: str) -> None:
    iid = start(engine, demo_org, STEPS)
    t1 = tasks_of(engine, iid)[0]
    run(engine, lifecycle.pause, demo_org, [iid], now=T0 + timedelta(minutes=5))
    with engine.begin() as conn:  # completed elsewhere while paused
        conn.execute(
            text("UPDATE tasks SET status = 'completed', completed_at = :at WHERE id = :id"),
            {"at": T0 + timedelta(minutes=20), "id": t1["id"]},
        )
    resumed = T0 + timedelta(days=1)
    run(engine, lifecycle.resume, demo_org, [iid], now=resumed)
    t2 = tasks_of(engine, iid)[1]
    assert t2["status"] == "active"
    assert activated(t2) == resumed

"""pause / resume / cancel / finish: allowed transitions, refusals, CHECKs, history kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, text

from seqctl.errors import NotFound, Refused
from seqctl.runtime import lifecycle
from seqctl.runtime.apply import apply_template

from .sequences_helpers import (
    LUIGI,
    SAKURA,
    T0,
    S,
    demo_organisation,
    instance,
    make_template,
    runtime_context,
    tasks_of,
)

STEPS = [S("Intro call", 1, "days"), S("Send menu", 2, "hours"), S("Check in", 3)]
STATES = ("active", "paused", "completed", "cancelled")
ALLOWED = {
    ("active", "pause"): "paused",
    ("paused", "resume"): "active",
    ("active", "cancel"): "cancelled",
    ("paused", "cancel"): "cancelled",
    ("active", "finish"): "completed",
    ("paused", "finish"): "completed",
}
REFUSAL = {
    "pause": "only active instances can be paused",
    "resume": "only paused instances can be resumed",
    "cancel": "only active or paused instances can be cancelled",
    "finish": "only active or paused instances can be finished",
}


def start(engine: Engine, org: str, restaurant: str = LUIGI) -> str:
    tid = make_template(engine, org, f"Onboarding {restaurant[:4]}", STEPS)
    with engine.begin() as conn:
        report = apply_template(
            runtime_context(conn, demo_organisation(org), now=T0), tid, [restaurant]
        )
    instance_id = report.outcomes[0].instance_id
    assert instance_id is not None
    return instance_id


def act(
    engine: Engine, org: str, action: str, ids: list[str], minutes: int = 60
) -> list[lifecycle.Transition]:
    with engine.begin() as conn:
        return lifecycle.transition(
            runtime_context(conn, org, now=T0 + timedelta(minutes=minutes)), ids, action
        )


def bring_to(engine: Engine, org: str, iid: str, state: str) -> None:
    path = {"active": [], "paused": ["pause"], "completed": ["finish"], "cancelled": ["cancel"]}
    for action in path[state]:
        act(engine, org, action, [iid], minutes=10)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", list(REFUSAL))
def test_every_state_and_transition(engine: Engine, demo_org: str, state: str, action: str) -> None:
    iid = start(engine, demo_org)
    bring_to(engine, demo_org, iid, state)
    before = instance(engine, iid)
    if (state, action) not in ALLOWED:
        with pytest.raises(Refused) as caught:
            act(engine, demo_org, action, [iid])
        assert caught.value.message == (
            f"instance {iid} ({before['name']!r}) is {state}; {REFUSAL[action]}"
        )
        assert instance(engine, iid) == before
        return
    [t] = act(engine, demo_org, action, [iid])
    target = ALLOWED[(state, action)]
    assert (t.from_status, t.to_status) == (state, target)
    after = instance(engine, iid)
    assert after["status"] == target
    # the CHECKs hold (the database enforces them) and say exactly this:
    assert (after["paused_at"] is not None) == (target == "paused")
    assert (after["completed_at"] is not None) == (target == "completed")
    assert (after["cancelled_at"] is not None) == (target == "cancelled")


def test_cancel_keeps_every_task(engine: Engine, demo_org: str) -> None:
    iid = start(engine, demo_org)
    act(engine, demo_org, "pause", [iid], minutes=5)
    [t] = act(engine, demo_org, "cancel", [iid], minutes=30)
    assert t.tasks_changed == 3
    tasks = tasks_of(engine, iid)
    assert len(tasks) == 3
    assert [x["status"] for x in tasks] == ["cancelled"] * 3
    assert all(x["cancelled_at"] == T0 + timedelta(minutes=30) for x in tasks)
    inst = instance(engine, iid)
    assert inst["paused_at"] is None and inst["cancelled_at"] == T0 + timedelta(minutes=30)


def test_finish_completes_the_active_task_and_cancels_pending(
    engine: Engine, demo_org: str
) -> None:
    iid = start(engine, demo_org)
    act(engine, demo_org, "finish", [iid], minutes=45)
    tasks = tasks_of(engine, iid)
    assert [x["status"] for x in tasks] == ["completed", "cancelled", "cancelled"]
    assert tasks[0]["completed_at"] == T0 + timedelta(minutes=45)


def test_resume_pushes_the_due_date_back_by_the_pause(engine: Engine, demo_org: str) -> None:
    iid = start(engine, demo_org)
    due = tasks_of(engine, iid)[0]["due_date"]
    act(engine, demo_org, "pause", [iid], minutes=0)
    act(engine, demo_org, "resume", [iid], minutes=3 * 24 * 60 + 7)
    assert tasks_of(engine, iid)[0]["due_date"] == due + timedelta(days=3, minutes=7)
    assert instance(engine, iid)["paused_at"] is None


def test_resume_across_dst_pushes_back_exact_time(engine: Engine, demo_org: str) -> None:
    iid = start(engine, demo_org)
    due = tasks_of(engine, iid)[0]["due_date"]
    with engine.begin() as conn:
        lifecycle.pause(runtime_context(conn, demo_org, now=T0, timezone="America/New_York"), [iid])
    with engine.begin() as conn:  # 2026-03-02 -> 2026-03-12 spans the spring-forward night
        lifecycle.resume(
            runtime_context(
                conn, demo_org, now=T0 + timedelta(days=10), timezone="America/New_York"
            ),
            [iid],
        )
    assert tasks_of(engine, iid)[0]["due_date"] - due == timedelta(days=10)


def test_all_or_nothing_and_not_found(engine: Engine, demo_org: str) -> None:
    a = start(engine, demo_org)
    b = start(engine, demo_org, SAKURA)
    act(engine, demo_org, "finish", [b])
    with pytest.raises(Refused, match=f"instance {b} .* is completed"):
        act(engine, demo_org, "pause", [a, b])
    assert instance(engine, a)["status"] == "active"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO organisations (id, name) VALUES "
                "('99999999-9999-9999-9999-999999999999', 'Other')"
            )
        )
    with pytest.raises(NotFound, match=f"no instance {a}"):
        act(engine, "99999999-9999-9999-9999-999999999999", "pause", [a])

"""`status`: progress per instance, filters, summary, timeline; the design document's indexes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from seqctl.errors import NotFound
from seqctl.runtime import lifecycle, progression
from seqctl.runtime.apply import apply_template
from seqctl.runtime.status import instance_detail, list_instances

from .sequences_helpers import (
    ALEX,
    FOGON,
    LUIGI,
    SAKURA,
    SAM,
    T0,
    S,
    demo_organisation,
    make_template,
    runtime_context,
    tasks_of,
)
from .statements import captured

STEPS = [
    S("Intro call", 0, custom_message="Hi {first_name}, {nope}"),
    S("Send menu", 2, "hours", custom_message="Menu for {restaurant_name}"),
    S("Check in", 3),
    S("Wrap up", 1),
]


@pytest.fixture
def world(engine: Engine, demo_org: str) -> dict[str, str]:
    """Luigi active at step 2 (overdue), Sakura paused, Fogón cancelled, Copper Pot completed."""
    tid = make_template(engine, demo_org, "Onboarding", STEPS, key="onboarding")
    other = make_template(engine, demo_org, "Demo follow-up", [S("Demo call", 5)])
    org = demo_organisation(demo_org)
    with engine.begin() as conn:
        main = apply_template(
            runtime_context(conn, org, now=T0),
            tid,
            [LUIGI, SAKURA, FOGON, "The Copper Pot"],
            assign_to=SAM,
        )
        extra = apply_template(
            runtime_context(conn, org, now=T0), other, ["Spice Route"], assign_to=ALEX
        )
    ids = {o.restaurant_name or "": o.instance_id or "" for o in main.outcomes + extra.outcomes}
    luigi = ids["Luigi's Trattoria"]
    with engine.begin() as conn:
        progression.complete_tasks(
            runtime_context(conn, demo_org, now=T0), [tasks_of(engine, luigi)[0]["id"]]
        )
        lifecycle.pause(runtime_context(conn, demo_org, now=T0), [ids["Sakura Sushi Bar"]])
        lifecycle.cancel(runtime_context(conn, demo_org, now=T0), [ids["El Fogón"]])
        lifecycle.finish(runtime_context(conn, demo_org, now=T0), [ids["The Copper Pot"]])
    return ids


def test_list_with_progress_and_summary(
    engine: Engine, demo_org: str, world: dict[str, str]
) -> None:
    with engine.begin() as conn:
        report = list_instances(runtime_context(conn, demo_org, now=T0 + timedelta(hours=3)))
    rows = {r.restaurant: r for r in report.rows}
    luigi = rows["Luigi's Trattoria"]
    assert (luigi.status, luigi.current_step, luigi.total_steps) == ("active", 2, 4)
    assert (luigi.completed_steps, luigi.percentage) == (1, 25)
    assert luigi.next_due == T0 + timedelta(hours=2) and luigi.overdue
    assert luigi.template == "Onboarding" and luigi.assigned_to_email == "sam@demo.example"
    spice = rows["Spice Route"]
    assert spice.next_due == T0 + timedelta(days=5) and not spice.overdue
    assert rows["Sakura Sushi Bar"].status == "paused" and not rows["Sakura Sushi Bar"].overdue
    fogon = rows["El Fogón"]
    assert (fogon.status, fogon.percentage, fogon.skipped_steps) == ("cancelled", 0, 0)
    copper = rows["The Copper Pot"]
    assert (copper.percentage, copper.completed_steps, copper.skipped_steps) == (100, 1, 0)
    # sorted by next due date, instances without one last
    assert [r.restaurant for r in report.rows][:3] == [
        "Sakura Sushi Bar",
        "Luigi's Trattoria",
        "Spice Route",
    ]
    assert report.rows[0].next_due == T0  # paused: its active task's due date (frozen)
    assert report.summary == {"active": 2, "paused": 1, "completed": 1, "cancelled": 1}
    assert report.overdue == 1 and report.total == 5


def test_filters(engine: Engine, demo_org: str, world: dict[str, str]) -> None:
    def names(**filters: Any) -> list[str]:
        with engine.begin() as conn:
            return sorted(
                r.restaurant
                for r in list_instances(runtime_context(conn, demo_org, now=T0), **filters).rows
            )

    assert names(restaurant="Luigi's Trattoria") == ["Luigi's Trattoria"]
    assert names(restaurant=SAKURA) == ["Sakura Sushi Bar"]
    assert names(template="Demo follow-up") == ["Spice Route"]
    assert len(names(template="onboarding")) == 4
    assert names(status=["paused", "cancelled"]) == ["El Fogón", "Sakura Sushi Bar"]
    assert names(assigned_to="alex@demo.example") == ["Spice Route"]
    with engine.begin() as conn:
        report = list_instances(runtime_context(conn, demo_org, now=T0), limit=2)
    assert len(report.rows) == 2 and report.total == 5
    with pytest.raises(NotFound):
        names(restaurant="Nowhere")


def test_detail_timeline_and_active_message(
    engine: Engine, demo_org: str, world: dict[str, str]
) -> None:
    with engine.begin() as conn:
        detail = instance_detail(
            runtime_context(conn, demo_org, now=T0), world["Luigi's Trattoria"]
        )
    assert [(s.order, s.name, s.type, s.status) for s in detail.steps] == [
        (1, "Intro call", "call", "completed"),
        (2, "Send menu", "call", "active"),
        (3, "Check in", "call", "pending"),
        (4, "Wrap up", "call", "pending"),
    ]
    assert detail.steps[0].completed_at == T0
    assert detail.active_task is not None
    assert detail.active_task.message_rendered == "Menu for Luigi's Trattoria"
    with engine.begin() as conn, pytest.raises(NotFound):
        instance_detail(runtime_context(conn, demo_org), "00000000-0000-0000-0000-000000000000")


def test_queries_use_the_design_documents_indexes(engine: Engine, demo_org: str) -> None:
    tid = make_template(engine, demo_org, "Bulk", [S("Step one")])
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO restaurants (organisation_id, name) SELECT :org, 'R' || g"
                " FROM generate_series(1, 2000) g"
            ),
            {"org": demo_org},
        )
        conn.execute(
            text(
                "INSERT INTO sequence_instances (sequence_template_id, restaurant_id,"
                " organisation_id,"
                " name, status, total_steps, completed_at) SELECT :t, r.id, :org, 'x',"
                " CASE WHEN k = 1 THEN 'active' ELSE 'completed' END, 3,"
                " CASE WHEN k = 1 THEN NULL ELSE now() END"
                " FROM restaurants r, generate_series(1, 2) k WHERE r.name LIKE 'R%'"
            ),
            {"t": tid, "org": demo_org},
        )
        conn.execute(
            text(
                "INSERT INTO tasks (organisation_id, restaurant_id, name, type, status, due_date,"
                " sequence_instance_id, sequence_step_order) SELECT :org, si.restaurant_id, 'task',"
                " 'call', CASE WHEN si.status = 'active' AND s = 1 THEN 'active' ELSE 'completed'"
                " END,"
                " now(), si.id, s FROM sequence_instances si, generate_series(1, 3) s"
            ),
            {"org": demo_org},
        )
        conn.execute(text("ANALYZE"))
    with captured(engine) as statements, engine.begin() as conn:
        list_instances(runtime_context(conn, demo_org, now=T0), restaurant="R42")
    statement, parameters = next(c for c in statements if "WITH base AS" in c[0])
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN " + statement, parameters)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    finally:
        raw.close()
    assert "idx_sequence_instances_restaurant" in plan, plan
    assert "idx_tasks_sequence_" in plan, plan
    assert "Seq Scan on tasks" not in plan and "Seq Scan on sequence_instances" not in plan, plan

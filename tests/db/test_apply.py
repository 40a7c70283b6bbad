"""`apply`: instances and all their tasks, in one transaction, set-based, never twice."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from seqctl.db.connection import make_engine
from seqctl.db.demo import demo_id
from seqctl.errors import NotFound, Refused
from seqctl.runtime.apply import UnknownRestaurants, apply_template

from .sequences_helpers import (
    ALEX,
    FOGON,
    LUIGI,
    SAKURA,
    SAM,
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
from .statements import captured

STEPS = [
    S(
        "Intro call",
        0,
        "days",
        "call",
        "high",
        description="Say hello",
        custom_message="Hi {first_name} from {organisation_name}",
    ),
    S(
        "Send menu",
        2,
        "hours",
        "email",
        "low",
        message_template="Welcome email",
        custom_message="ignored: the message template wins",
    ),
    S("Check in", 3, "days", "text", task_template="Check-in call"),
    S("Wrap up", 30, "minutes", "internal_activity", custom_message="{unknown} {cuisine}"),
]


def apply(engine: Engine, org: str, template: str, refs: list[str], **kw: Any) -> Any:
    kw.setdefault("now", T0)
    with engine.begin() as conn:
        context = runtime_context(conn, demo_organisation(org), **context_options(kw))
        return apply_template(context, template, refs, **kw)


def test_start_one_restaurant(engine: Engine, demo_org: str) -> None:
    tid = make_template(engine, demo_org, "Onboarding", STEPS, key="onboarding")
    report = apply(engine, demo_org, "onboarding", ["Luigi's Trattoria"], acting_user=ALEX)
    [outcome] = report.outcomes
    assert (outcome.result, outcome.restaurant_id) == ("started", LUIGI)
    inst = instance(engine, outcome.instance_id)
    assert inst["name"] == "Onboarding - Luigi's Trattoria - 2026-03-02"
    assert (inst["status"], inst["current_step_order"], inst["total_steps"]) == ("active", 1, 4)
    assert inst["assigned_to"] == inst["created_by"] == ALEX
    assert inst["started_at"] == T0
    assert inst["paused_at"] is inst["completed_at"] is inst["cancelled_at"] is None
    tasks = tasks_of(engine, outcome.instance_id)
    assert [(t["step"], t["name"], t["type"], t["priority"], t["status"]) for t in tasks] == [
        (1, "Intro call", "call", "high", "active"),
        (2, "Send menu", "email", "low", "pending"),
        (3, "Check in", "text", "medium", "pending"),
        (4, "Wrap up", "internal_activity", "medium", "pending"),
    ]
    assert tasks[0]["due_date"] == T0
    assert all(t["due_date"] is None for t in tasks[1:])
    assert all(t["assigned_to"] == ALEX and t["restaurant_id"] == LUIGI for t in tasks)
    # message: message template, else custom message, else task template default (as in the
    # application); {organisation_name} is the restaurant's company (§5)
    assert tasks[0]["message"] == "Hi {first_name} from {organisation_name}"
    assert tasks[0]["message_rendered"] == "Hi Luigi from Rossi Hospitality Ltd"
    assert tasks[1]["message"].startswith("Hi {first_name},\n\nWelcome aboard!")
    assert "work with Luigi's Trattoria in San Francisco" in tasks[1]["message_rendered"]
    assert tasks[2]["message_rendered"] == "Hi Luigi, how is everything going at Luigi's Trattoria?"
    assert tasks[3]["message_rendered"] == "{unknown} Italian"
    # the delay is recorded on the task, so template edits never reach a running instance
    assert tasks[1]["metadata"]["sequence"]["delay_value"] == 2
    assert tasks[1]["metadata"]["sequence"]["delay_unit"] == "hours"
    assert tasks[2]["metadata"]["sequence"]["step_order"] == 3
    assert count(engine, "SELECT usage_count FROM sequence_templates WHERE id = :t", t=tid) == 1


def test_start_many_restaurants_in_batches(engine: Engine, demo_org: str) -> None:
    tid = make_template(engine, demo_org, "Onboarding", STEPS)
    refs = ["Luigi's Trattoria", SAKURA, "El Fogón", "The Copper Pot", "Spice Route"]
    seen: list[tuple[int, int]] = []
    report = apply(
        engine,
        demo_org,
        tid,
        refs,
        batch_size=2,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert [o.result for o in report.outcomes] == ["started"] * 5
    assert [o.ref for o in report.outcomes] == refs
    assert seen == [(0, 5), (2, 5), (4, 5), (5, 5)]
    assert count(engine, "SELECT count(*) FROM tasks WHERE sequence_instance_id IS NOT NULL") == 20
    assert count(engine, "SELECT usage_count FROM sequence_templates WHERE id = :t", t=tid) == 5
    # Sakura has no contact phone: rendered empty, not "None"
    [sakura] = [o for o in report.outcomes if o.restaurant_id == SAKURA]
    assert tasks_of(engine, sakura.instance_id)[0]["message_rendered"] == (
        "Hi Yuki from Tanaka Foods Ltd"
    )


def test_statement_count_does_not_grow_with_restaurants(engine: Engine, demo_org: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO restaurants (organisation_id, name, contact_name) SELECT :org,"
                " 'Bulk ' || g, 'Person ' || g FROM generate_series(1, 300) g"
            ),
            {"org": demo_org},
        )
    tid = make_template(engine, demo_org, "Onboarding", STEPS)

    def counted(refs: list[str]) -> int:
        with captured(engine) as statements:
            apply(engine, demo_org, tid, refs)
        return len(statements)

    few = counted([f"Bulk {i}" for i in range(1, 4)])
    many = counted([f"Bulk {i}" for i in range(4, 301)])
    assert few == many <= 12


def test_duplicate_start_is_skipped(engine: Engine, demo_org: str) -> None:
    tid = make_template(engine, demo_org, "Onboarding", STEPS)
    first = apply(engine, demo_org, tid, [LUIGI]).outcomes[0]
    again = apply(engine, demo_org, tid, [LUIGI, "Luigi's Trattoria", SAKURA])
    assert [(o.result, o.instance_id) for o in again.outcomes][0] == (
        "already_active",
        first.instance_id,
    )
    assert len(again.outcomes) == 2  # the same restaurant twice counts once
    assert again.outcomes[1].result == "started"
    assert count(engine, "SELECT usage_count FROM sequence_templates WHERE id = :t", t=tid) == 2
    with engine.begin() as conn:  # paused still counts as running; cancelled does not
        conn.execute(
            text(
                "UPDATE sequence_instances SET status = 'paused', paused_at = now() WHERE id = :i"
            ),
            {"i": first.instance_id},
        )
    assert apply(engine, demo_org, tid, [LUIGI]).outcomes[0].result == "already_active"
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE sequence_instances SET status = 'cancelled', paused_at = NULL,"
                " cancelled_at = now() WHERE id = :i"
            ),
            {"i": first.instance_id},
        )
    assert apply(engine, demo_org, tid, [LUIGI]).outcomes[0].result == "started"


def test_unknown_restaurants_fail_the_whole_run(engine: Engine, demo_org: str) -> None:
    tid = make_template(engine, demo_org, "Onboarding", STEPS)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO organisations (id, name) VALUES (:o, 'Other')"),
            {"o": demo_id("organisation", "Other")},
        )
        conn.execute(
            text(
                "INSERT INTO restaurants (id, organisation_id, name) VALUES (:r, :o, 'Elsewhere')"
            ),
            {"r": demo_id("restaurant", "Elsewhere"), "o": demo_id("organisation", "Other")},
        )
    missing = "00000000-0000-0000-0000-000000000001"
    with pytest.raises(UnknownRestaurants) as caught:
        apply(
            engine,
            demo_org,
            tid,
            [LUIGI, "Nowhere", missing, "Elsewhere", demo_id("restaurant", "Elsewhere")],
        )
    results = {o.ref: o.result for o in caught.value.outcomes}
    assert results == {
        LUIGI: "resolved",
        "Nowhere": "restaurant_not_found",
        missing: "restaurant_not_found",
        "Elsewhere": "not_in_organisation",
        demo_id("restaurant", "Elsewhere"): "not_in_organisation",
    }
    assert "Nowhere" in caught.value.message and missing in caught.value.message
    assert count(engine, "SELECT count(*) FROM sequence_instances") == 0


def test_inactive_template_and_template_without_steps(engine: Engine, demo_org: str) -> None:
    make_template(engine, demo_org, "Old one", STEPS, is_active=False)
    make_template(engine, demo_org, "Empty one", [])
    with pytest.raises(Refused, match="'Old one'.*inactive"):
        apply(engine, demo_org, "Old one", [LUIGI])
    with pytest.raises(Refused, match="'Empty one'.*no steps"):
        apply(engine, demo_org, "Empty one", [LUIGI])
    with pytest.raises(NotFound, match="no sequence template 'Old on'") as caught:
        apply(engine, demo_org, "Old on", [LUIGI])
    assert "did you mean 'Old one'" in (caught.value.hint or "")


def test_template_by_key_name_or_uuid(engine: Engine, demo_org: str) -> None:
    tid = make_template(engine, demo_org, "Onboarding Flow", STEPS, key="onboarding")
    for i, ref in enumerate(["onboarding", "Onboarding Flow", tid]):
        report = apply(engine, demo_org, ref, [[LUIGI, SAKURA, FOGON][i]])
        assert report.template.id == tid


def test_assignment_precedence(engine: Engine, demo_org: str) -> None:
    tid = make_template(engine, demo_org, "Onboarding", STEPS)
    a = apply(engine, demo_org, tid, [LUIGI], assign_to="sam@demo.example", acting_user=ALEX)
    b = apply(engine, demo_org, tid, [SAKURA], acting_user="ALEX@demo.example")
    c = apply(engine, demo_org, tid, [FOGON])
    assert (
        instance(engine, a.outcomes[0].instance_id)["assigned_to"],
        instance(engine, a.outcomes[0].instance_id)["created_by"],
    ) == (SAM, ALEX)
    assert instance(engine, b.outcomes[0].instance_id)["assigned_to"] == ALEX
    assert instance(engine, c.outcomes[0].instance_id)["assigned_to"] is None
    assert instance(engine, c.outcomes[0].instance_id)["created_by"] is None


def test_name_date_and_due_date_in_the_configured_time_zone(engine: Engine, demo_org: str) -> None:
    tid = make_template(engine, demo_org, "Onboarding", [S("First step", 1, "days")])
    late_evening = datetime(2026, 3, 8, 3, 0, tzinfo=UTC)  # 2026-03-07 22:00 in New York
    report = apply(engine, demo_org, tid, [LUIGI], timezone="America/New_York", now=late_evening)
    inst = instance(engine, report.outcomes[0].instance_id)
    assert inst["name"].endswith(" - 2026-03-07")
    # one calendar day across the DST change: 22:00 EST -> 22:00 EDT is 23 hours
    due = tasks_of(engine, inst["id"])[0]["due_date"]
    assert due - late_evening == timedelta(hours=23)


def test_dry_run_writes_nothing_and_shows_rendering(engine: Engine, demo_org: str) -> None:
    tid = make_template(
        engine,
        demo_org,
        "Onboarding",
        [
            S("Call", custom_message="Call {contact_phone} re {restaurant_website} {nope}"),
            S("Mail", 1, custom_message="Hello {first_name}"),
        ],
    )
    apply(engine, demo_org, tid, [LUIGI])
    report = apply(engine, demo_org, tid, [LUIGI, "Sakura Sushi Bar"], dry_run=True)
    assert [o.result for o in report.outcomes] == ["already_active", "would_start"]
    [preview] = report.previews
    assert preview.name == "Onboarding - Sakura Sushi Bar - 2026-03-02"
    assert [t.status for t in preview.tasks] == ["active", "pending"]
    assert preview.tasks[0].due_date == T0
    assert preview.tasks[0].message_rendered == "Call  re https://sakura.example {nope}"
    assert preview.tasks[0].empty_variables == ["contact_phone"]
    assert preview.empty_variables == ["contact_phone"]
    assert count(engine, "SELECT count(*) FROM sequence_instances") == 1
    assert count(engine, "SELECT usage_count FROM sequence_templates WHERE id = :t", t=tid) == 1


def test_concurrent_applies_start_one_instance(
    database_url: str, engine: Engine, demo_org: str
) -> None:
    tid = make_template(engine, demo_org, "Onboarding", STEPS)
    barrier = threading.Barrier(8)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        own = make_engine(database_url)
        try:
            with own.begin() as conn:
                barrier.wait()
                report = apply_template(
                    runtime_context(conn, demo_organisation(demo_org)), tid, [LUIGI]
                )
                results.append(report.outcomes[0].result)
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == ["already_active"] * 7 + ["started"]
    assert count(engine, "SELECT count(*) FROM sequence_instances") == 1
    assert count(engine, "SELECT count(*) FROM tasks WHERE sequence_instance_id IS NOT NULL") == 4
    assert count(engine, "SELECT usage_count FROM sequence_templates WHERE id = :t", t=tid) == 1

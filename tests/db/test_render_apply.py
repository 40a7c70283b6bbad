"""apply renders like the application (§4, §5): the catalogue from the restaurant's real
columns, message and subject precedence, the assignee default, declared variables, and a
column the database lacks.

Everything is made with SQL on the application's columns (message_templates.message_content
and subject_line, task_templates.default_message and subject_line, restaurants.cuisine
text[], organisation_name, assigned_sales_rep, tasks.subject_line(_rendered)).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from seqctl.runtime.apply import apply_template
from seqctl.runtime.lookup import Organisation

from .sequences_helpers import context_options, runtime_context

T0 = datetime(2025, 1, 16, 1, 0, tzinfo=UTC)  # Thursday 16 January, 14:00 in Auckland
ZONE = "Pacific/Auckland"


def _id() -> str:
    return str(uuid.uuid4())


class World:
    """An organisation with two members, an outsider, templates and two restaurants."""

    def __init__(self, conn: Connection) -> None:
        self.org, self.other_org = _id(), _id()
        self.rep, self.actor, self.outsider = _id(), _id(), _id()
        conn.execute(
            text("INSERT INTO organisations (id, name) VALUES (:a, 'Pumpd'), (:b, 'Other')"),
            {"a": self.org, "b": self.other_org},
        )
        for user, org in ((self.rep, self.org), (self.actor, self.org), (self.outsider, None)):
            conn.execute(
                text("INSERT INTO auth.users (id, email) VALUES (CAST(:id AS uuid), :e)"),
                {"id": user, "e": f"{user}@x.example"},
            )
            conn.execute(
                text("INSERT INTO profiles (id, organisation_id, email) VALUES (:id, :org, :e)"),
                {"id": user, "org": org or self.other_org, "e": f"{user}@x.example"},
            )
        self.message = _id()
        conn.execute(
            text(
                "INSERT INTO message_templates (id, organisation_id, name, type, message_content,"
                " subject_line) VALUES (:id, :org, 'Welcome', 'email',"
                " 'Welcome {first_name} of {organisation_name}', 'MT subject {city}')"
            ),
            {"id": self.message, "org": self.org},
        )
        self.task = _id()
        conn.execute(
            text(
                "INSERT INTO task_templates (id, organisation_id, name, type, default_message,"
                " subject_line) VALUES (:id, :org, 'Check in', 'email',"
                " 'TT message {restaurant_name}', 'TT subject {restaurant_name}')"
            ),
            {"id": self.task, "org": self.org},
        )
        self.bella, self.empty = _id(), _id()
        conn.execute(
            text(
                "INSERT INTO restaurants (id, organisation_id, name, city, contact_name,"
                " organisation_name, cuisine, subdomain, uber_aov, weekly_uber_sales_volume,"
                " uber_markup, self_delivery, demo_store_built, lead_stage, painpoints,"
                " website_type, last_contacted, assigned_sales_rep, details)"
                " VALUES (:bella, :org, 'Bella Pizza', 'Wellington', 'John Smith',"
                " 'Bella Group Ltd', ARRAY['Burgers', 'American'], 'bella', 32.5, 1500, 20,"
                " false, true, 'demo_booked', CAST(:pains AS jsonb), 'custom_domain',"
                " '2025-01-15 10:00+00', :rep, 'Keen'),"
                " (:empty, :org, 'Empty Diner', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
                " NULL, NULL, NULL, '[]', NULL, NULL, :outsider, NULL)"
            ),
            {
                "bella": self.bella,
                "empty": self.empty,
                "org": self.org,
                "rep": self.rep,
                "outsider": self.outsider,
                "pains": json.dumps([{"value": "High fees"}, {"value": "Slow support"}]),
            },
        )

    def template(self, conn: Connection, steps: list[dict[str, Any]], **meta: Any) -> str:
        template_id = _id()
        conn.execute(
            text(
                "INSERT INTO sequence_templates (id, organisation_id, name, metadata)"
                " VALUES (:id, :org, :name, CAST(:meta AS jsonb))"
            ),
            {
                "id": template_id,
                "org": self.org,
                "name": f"T {template_id[:8]}",
                "meta": json.dumps(meta),
            },
        )
        rows = [
            {"step_order": i, "name": f"Step {i}", "type": "email", **step}
            for i, step in enumerate(steps, start=1)
        ]
        conn.execute(
            text(
                "INSERT INTO sequence_steps (sequence_template_id, step_order, name, type,"
                " custom_message, subject_line, message_template_id, task_template_id)"
                " SELECT CAST(:t AS uuid), s.step_order, s.name, s.type, s.custom_message,"
                " s.subject_line, s.message_template_id, s.task_template_id"
                " FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS s(step_order int, name text,"
                " type text, custom_message text, subject_line text, message_template_id uuid,"
                " task_template_id uuid)"
            ),
            {"t": template_id, "rows": json.dumps(rows)},
        )
        return template_id


def _setup(engine: Engine, steps: list[dict[str, Any]], **meta: Any) -> tuple[World, str]:
    with engine.begin() as conn:
        world = World(conn)
        return world, world.template(conn, steps, **meta)


def _apply(engine: Engine, world: World, template: str, refs: list[str], **kw: Any) -> Any:
    kw.setdefault("now", T0)
    kw.setdefault("timezone", ZONE)
    with engine.begin() as conn:
        context = runtime_context(conn, Organisation(world.org, "Pumpd"), **context_options(kw))
        return apply_template(context, template, refs, **kw)


def _tasks(engine: Engine, instance_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                text(
                    "SELECT message, message_rendered, subject_line, subject_line_rendered,"
                    " assigned_to::text AS assigned_to FROM tasks"
                    " WHERE sequence_instance_id = :i ORDER BY sequence_step_order"
                ),
                {"i": instance_id},
            ).mappings()
        ]


def _instance_assignee(engine: Engine, instance_id: str) -> str | None:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT assigned_to::text FROM sequence_instances WHERE id = :i"),
            {"i": instance_id},
        ).scalar()
        return None if found is None else str(found)


CATALOGUE_MESSAGE = (
    "{restaurant_name}|{organisation_name}|{cuisine}|{uber_aov}|{weekly_uber_sales_volume}|"
    "{uber_markup}|{self_delivery}|{demo_store_built}|{lead_stage}|{painpoints}|"
    "{website_type}|{last_contacted_day}|{qualification_details}|{today}|{current_date}|"
    "{nope}"
)


def test_the_catalogue_renders_from_the_restaurant_columns(engine: Engine) -> None:
    world, template = _setup(engine, [{"type": "call", "custom_message": CATALOGUE_MESSAGE}])
    report = _apply(engine, world, template, ["Bella Pizza", "Empty Diner"])
    bella, empty = (o.instance_id for o in report.outcomes)
    assert _tasks(engine, bella)[0]["message_rendered"] == (
        "Bella Pizza|Bella Group Ltd|Burgers, American|$32.50|1,500 orders|20.0%|No|Yes|"
        "demo booked|High fees, Slow support|Custom Domain|yesterday|Keen|16/01/2025|"
        "Thursday, 16 January 2025|{nope}"
    )
    assert _tasks(engine, empty)[0]["message_rendered"] == (
        "Empty Diner||||||Unknown|No||||Never||16/01/2025|Thursday, 16 January 2025|{nope}"
    )


def test_message_and_subject_precedence(engine: Engine) -> None:
    world, template = _setup(engine, [])
    with engine.begin() as conn:
        template = world.template(
            conn,
            [
                # 1: the message template wins for the message and the subject
                {
                    "message_template_id": world.message,
                    "task_template_id": world.task,
                    "custom_message": "custom",
                    "subject_line": "step subject",
                },
                # 2: the step's custom message and subject before the task template's
                {
                    "task_template_id": world.task,
                    "custom_message": "custom {city}",
                    "subject_line": "step subject {first_name}",
                },
                # 3: the task template's default message and subject
                {"task_template_id": world.task},
                # 4: a call keeps the step's subject line as written, never rendered
                {"type": "call", "task_template_id": world.task, "subject_line": "Hi {city}"},
            ],
        )
    [outcome] = _apply(engine, world, template, ["Bella Pizza"]).outcomes
    tasks = _tasks(engine, outcome.instance_id)
    assert [(t["message"], t["message_rendered"]) for t in tasks] == [
        ("Welcome {first_name} of {organisation_name}", "Welcome John of Bella Group Ltd"),
        ("custom {city}", "custom Wellington"),
        ("TT message {restaurant_name}", "TT message Bella Pizza"),
        ("TT message {restaurant_name}", "TT message Bella Pizza"),
    ]
    assert [(t["subject_line"], t["subject_line_rendered"]) for t in tasks] == [
        ("MT subject {city}", "MT subject Wellington"),
        ("step subject {first_name}", "step subject John"),
        ("TT subject {restaurant_name}", "TT subject Bella Pizza"),
        ("Hi {city}", None),
    ]


def test_assignee_defaults_to_the_sales_rep_then_the_acting_user(engine: Engine) -> None:
    world, template = _setup(engine, [{"custom_message": "x"}, {"custom_message": "y"}])
    report = _apply(
        engine, world, template, ["Bella Pizza", "Empty Diner"], acting_user=world.actor
    )
    bella, empty = (o.instance_id for o in report.outcomes)
    # Bella's sales rep is a member; Empty Diner's is not, so the acting user gets it
    assert {t["assigned_to"] for t in _tasks(engine, bella)} == {world.rep}
    assert _instance_assignee(engine, bella) == world.rep
    assert {t["assigned_to"] for t in _tasks(engine, empty)} == {world.actor}
    assert _instance_assignee(engine, empty) == world.actor


def test_assign_to_beats_the_sales_rep(engine: Engine) -> None:
    world, template = _setup(engine, [{"custom_message": "x"}])
    [outcome] = _apply(engine, world, template, ["Bella Pizza"], assign_to=world.actor).outcomes
    assert _tasks(engine, outcome.instance_id)[0]["assigned_to"] == world.actor
    assert _instance_assignee(engine, outcome.instance_id) == world.actor


def test_no_rep_and_no_acting_user_leaves_it_unassigned(engine: Engine) -> None:
    world, template = _setup(engine, [{"custom_message": "x"}])
    [outcome] = _apply(engine, world, template, ["Empty Diner"]).outcomes
    assert _tasks(engine, outcome.instance_id)[0]["assigned_to"] is None


def test_declared_variables_stored_with_the_template_are_rendered(engine: Engine) -> None:
    declared = {
        "ordering_url": {"template": "https://{subdomain}.pumpd.co.nz"},
        "example_restaurant_1": {
            "by": "city",
            "values": {"wellington": "Chaat Street"},
            "default": "Eat Mi",
        },
    }
    world, template = _setup(
        engine,
        [
            {
                "custom_message": "{ordering_url} {example_restaurant_1}",
                "subject_line": "{ordering_url}",
            }
        ],
        seqctl={"key": "k", "variables": declared},
    )
    report = _apply(engine, world, template, ["Bella Pizza", "Empty Diner"])
    bella, empty = (_tasks(engine, o.instance_id)[0] for o in report.outcomes)
    assert bella["message_rendered"] == "https://bella.pumpd.co.nz Chaat Street"
    assert bella["subject_line_rendered"] == "https://bella.pumpd.co.nz"
    assert empty["message_rendered"] == " Eat Mi"


def test_a_column_the_database_lacks_renders_empty_and_dry_run_says_which(
    engine: Engine,
) -> None:
    world, template = _setup(
        engine, [{"type": "call", "custom_message": "{uber_aov}|{city}|{self_delivery}"}]
    )
    with engine.begin() as conn:
        conn.execute(
            text("ALTER TABLE restaurants DROP COLUMN uber_aov, DROP COLUMN self_delivery")
        )
    preview = _apply(engine, world, template, ["Bella Pizza"], dry_run=True)
    assert preview.missing_columns == {"uber_aov": "uber_aov", "self_delivery": "self_delivery"}
    [instance] = preview.previews
    assert instance.tasks[0].message_rendered == "|Wellington|"
    assert instance.empty_variables == ["uber_aov", "self_delivery"]
    [outcome] = _apply(engine, world, template, ["Bella Pizza"]).outcomes
    assert _tasks(engine, outcome.instance_id)[0]["message_rendered"] == "|Wellington|"

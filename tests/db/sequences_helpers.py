"""Templates, steps and restaurants made directly with SQL, as the web app makes them.

The instance tests depend on nothing of sync: a template is whatever rows the database has.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from seqctl.config import DEFAULT_TIMEZONE
from seqctl.db.demo import ORGANISATION, demo_id
from seqctl.pg import Tx
from seqctl.runtime.context import Context
from seqctl.runtime.context import runtime_context as context_of
from seqctl.runtime.lookup import Organisation

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC

LUIGI = demo_id("restaurant", "Luigi's Trattoria")
SAKURA = demo_id("restaurant", "Sakura Sushi Bar")
FOGON = demo_id("restaurant", "El Fogón")
ALEX = demo_id("user", "alex@demo.example")
SAM = demo_id("user", "sam@demo.example")


@dataclass
class S:
    """A step to insert."""

    name: str
    delay_value: int = 0
    delay_unit: str = "days"
    type: str = "call"
    priority: str = "medium"
    custom_message: str | None = None
    message_template: str | None = None  # demo message template name
    task_template: str | None = None  # demo task template name
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def demo_organisation(org_id: str) -> Organisation:
    return Organisation(org_id, ORGANISATION)


def make_template(
    engine_or_conn: Engine | Connection,
    org_id: str,
    name: str,
    steps: Sequence[S],
    *,
    key: str | None = None,
    is_active: bool = True,
) -> str:
    """Insert a template and its steps (step_order 1..N); return the template id."""
    sql_template = text(
        "INSERT INTO sequence_templates (organisation_id, name, is_active, metadata) "
        "VALUES (:org, :name, :active, CAST(:meta AS jsonb)) RETURNING id::text"
    )
    sql_steps = text(
        "INSERT INTO sequence_steps (sequence_template_id, step_order, name, description, type,"
        " priority, delay_value, delay_unit, custom_message, message_template_id,"
        " task_template_id, metadata) "
        "SELECT CAST(:t AS uuid), s.step_order, s.name, s.description, s.type, s.priority,"
        " s.delay_value, s.delay_unit, s.custom_message, s.message_template_id,"
        " s.task_template_id, s.metadata "
        "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS s(step_order int, name text,"
        " description text, type text, priority text, delay_value int, delay_unit text,"
        " custom_message text, message_template_id uuid, task_template_id uuid, metadata jsonb)"
    )
    rows = [
        {
            "step_order": i,
            "name": s.name,
            "description": s.description,
            "type": s.type,
            "priority": s.priority,
            "delay_value": s.delay_value,
            "delay_unit": s.delay_unit,
            "custom_message": s.custom_message,
            "metadata": s.metadata,
            "message_template_id": demo_id("message_template", s.message_template)
            if s.message_template
            else None,
            "task_template_id": demo_id("task_template", s.task_template)
            if s.task_template
            else None,
        }
        for i, s in enumerate(steps, start=1)
    ]
    meta = {"seqctl": {"key": key}} if key else {}

    def run(conn: Connection) -> str:
        template_id = str(
            conn.execute(
                sql_template,
                {"org": org_id, "name": name, "active": is_active, "meta": json.dumps(meta)},
            ).scalar_one()
        )
        if rows:
            conn.execute(sql_steps, {"t": template_id, "rows": json.dumps(rows)})
        return template_id

    if isinstance(engine_or_conn, Connection):
        return run(engine_or_conn)
    with engine_or_conn.begin() as conn:
        return run(conn)


def tasks_of(engine: Engine, instance_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                text(
                    "SELECT id::text AS id, sequence_step_order AS step, name, type, priority,"
                    " status, due_date, completed_at, cancelled_at, message, message_rendered,"
                    " metadata, assigned_to::text AS assigned_to, restaurant_id::text AS"
                    " restaurant_id"
                    " FROM tasks WHERE sequence_instance_id = :i ORDER BY sequence_step_order"
                ),
                {"i": instance_id},
            ).mappings()
        ]


def instance(engine: Engine, instance_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text(
                    "SELECT id::text AS id, name, status, current_step_order, total_steps,"
                    " assigned_to::text AS assigned_to, created_by::text AS created_by, started_at,"
                    " paused_at, completed_at, cancelled_at FROM sequence_instances WHERE id = :i"
                ),
                {"i": instance_id},
            )
            .mappings()
            .one()
        )


def count(engine: Engine, sql: str, **params: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def runtime_context(
    conn: Connection | Tx,
    organisation: Organisation | str | None,
    *,
    acting_user: str | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    now: datetime | None = None,
) -> Context:
    """The run-time context the CLI would build; an organisation given by id is the demo one."""
    if isinstance(organisation, str):
        organisation = demo_organisation(organisation)
    return context_of(conn, organisation, acting_user=acting_user, timezone=timezone, now=now)


def context_options(options: dict[str, Any]) -> dict[str, Any]:
    """Takes the context's options (acting user, time zone, clock) out of a call's keywords."""
    return {k: options.pop(k) for k in ("acting_user", "timezone", "now") if k in options}

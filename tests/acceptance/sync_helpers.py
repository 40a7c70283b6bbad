"""Helpers of the sync tests: template files in tmp_path, table dumps, direct inserts."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, text

from seqctl.db.demo import demo_id

from ..conftest import Result

SEQUENCES = Path("sequences")  # the tests run in tmp_path (conftest's _isolated)
DEFAULT_STEPS: list[dict[str, Any]] = [
    {
        "name": "Intro call",
        "type": "call",
        "priority": "high",
        "task_template": "Intro call script",
    },
    {
        "name": "Welcome email",
        "type": "email",
        "delay_value": 1,
        "message_template": "Welcome email",
    },
    {
        "name": "Menu review",
        "type": "internal_activity",
        "delay_value": 2,
        "task_template": "Menu review",
    },
]


def write_template(
    key: str,
    name: str | None = None,
    steps: list[dict[str, Any]] | None = None,
    directory: Path = SEQUENCES,
    **fields: Any,
) -> Path:
    """Write ``directory/key.yaml``; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    document = {
        "name": name or f"Template {key}",
        **fields,
        "steps": DEFAULT_STEPS if steps is None else steps,
    }
    path = directory / f"{key}.yaml"
    header = "# yaml-language-server: $schema=../schemas/sequence-template.schema.json\n"
    path.write_text(header + yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def step(name: str, type: str = "call", **fields: Any) -> dict[str, Any]:
    return {"name": name, "type": type, **fields}


def dump(engine: Engine) -> list[Any]:
    """Every row of the sequence tables (all columns, as text), in a stable order."""
    rows: list[Any] = []
    with engine.connect() as conn:
        for table in ("sequence_templates", "sequence_steps", "sequence_instances", "tasks"):
            rows.append(
                (
                    table,
                    conn.execute(text(f"SELECT t::text FROM {table} AS t ORDER BY t.id"))
                    .scalars()
                    .all(),
                )
            )
    return rows


def templates(engine: Engine) -> dict[str, dict[str, Any]]:
    """Templates by seqctl key (unmanaged ones by name), each with its steps in order."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id::text, name, is_active, metadata, updated_at FROM sequence_templates")
        ).all()
        steps = conn.execute(
            text(
                "SELECT id::text, sequence_template_id::text AS tid, step_order, name,"
                " delay_value, "
                "updated_at FROM sequence_steps ORDER BY step_order"
            )
        ).all()
    found = {}
    for row in rows:
        key = (row.metadata or {}).get("seqctl", {}).get("key") or row.name
        found[key] = {
            "id": row.id,
            "name": row.name,
            "is_active": row.is_active,
            "metadata": row.metadata,
            "updated_at": row.updated_at,
            "steps": [s._asdict() for s in steps if s.tid == row.id],
        }
    return found


def step_names(engine: Engine, key: str) -> list[str]:
    return [s["name"] for s in templates(engine)[key]["steps"]]


def insert_instance(
    engine: Engine,
    template_id: str,
    org_id: str,
    status: str = "active",
    restaurant: str = "Luigi's Trattoria",
) -> str:
    """A sequence instance row, inserted directly (as `seqctl apply` or the web app would)."""
    instance_id = str(uuid.uuid4())
    stamps = {"paused": "paused_at", "completed": "completed_at", "cancelled": "cancelled_at"}
    column = stamps.get(status)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sequence_instances (id, sequence_template_id, restaurant_id, "
                "organisation_id, name, status, total_steps"
                + (f", {column}" if column else "")
                + ") VALUES (:id, :t, :r, :o, :n, :s, 3"
                + (", now()" if column else "")
                + ")"
            ),
            {
                "id": instance_id,
                "t": template_id,
                "r": demo_id("restaurant", restaurant),
                "o": org_id,
                "n": f"Instance {instance_id[:8]}",
                "s": status,
            },
        )
    return instance_id


def insert_unmanaged(
    engine: Engine, org_id: str, name: str, steps: list[dict[str, Any]] | None = None, **fields: Any
) -> str:
    """A template made outside seqctl (no metadata.seqctl), with its steps."""
    template_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sequence_templates (id, organisation_id, name, description, tags, "
                "is_active, metadata) VALUES (:id, :org, :name, :description, :tags, :active, "
                "CAST(:metadata AS jsonb))"
            ),
            {
                "id": template_id,
                "org": org_id,
                "name": name,
                "description": fields.get("description"),
                "tags": fields.get("tags", []),
                "active": fields.get("is_active", True),
                "metadata": json.dumps(fields.get("metadata", {})),
            },
        )
        for order, values in enumerate(steps or [], start=1):
            values = {
                "step_order": order,
                "priority": "medium",
                "delay_value": 0,
                "delay_unit": "days",
                "description": None,
                "custom_message": None,
                "task_template_id": None,
                "message_template_id": None,
                "metadata": None,
                **values,
            }
            conn.execute(
                text(
                    "INSERT INTO sequence_steps (sequence_template_id, step_order, name, type, "
                    "priority, description, delay_value, delay_unit, custom_message, "
                    "task_template_id, message_template_id, metadata) VALUES (:t, :step_order, "
                    ":name, :type, :priority, :description, :delay_value, :delay_unit, "
                    ":custom_message, :task_template_id, :message_template_id, "
                    "CAST(:metadata AS jsonb))"
                ),
                {
                    "t": template_id,
                    **values,
                    "metadata": None
                    if values["metadata"] is None
                    else json.dumps(values["metadata"]),
                },
            )
    return template_id


Run = Callable[..., Result]


def ok(result: Result, code: int = 0) -> Result:
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result

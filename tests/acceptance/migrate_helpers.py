"""Helpers of the migrate tests: a template in files, instances at a position, invariants."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

from seqctl.runtime.lifecycle import pause
from seqctl.runtime.progression import complete_tasks

from ..db.sequences_helpers import runtime_context
from .sync_helpers import Run, step, write_template

RESTAURANTS = ["Luigi's Trattoria", "Sakura Sushi Bar", "El Fogón", "Spice Route"]


def steps_of(names: list[str], **delays: int) -> list[dict[str, Any]]:
    return [
        step(n, "call", delay_value=delays.get(n.replace(" ", "_"), 1), custom_message=f"About {n}")
        for n in names
    ]


def start(
    run: Run, engine: Engine, key: str, steps: list[dict[str, Any]], restaurant: str, **fields: Any
) -> str:
    """Sync the template and start it for the restaurant; returns the instance id."""
    write_template(key, f"Template {key}", steps, **fields)
    assert run("sync").exit_code == 0
    result = run("apply", "-t", key, "-r", restaurant)
    assert result.exit_code == 0, result.stderr
    with engine.connect() as conn:
        return str(
            conn.execute(
                text(
                    "SELECT si.id FROM sequence_instances si JOIN restaurants r"
                    " ON r.id = si.restaurant_id WHERE r.name = :r AND si.status = 'active'"
                ),
                {"r": restaurant},
            ).scalar_one()
        )


def advance(engine: Engine, org: str, instance_id: str, completed: int) -> None:
    """Complete the instance's active task ``completed`` times."""
    for _ in range(completed):
        with engine.begin() as conn:
            task = conn.execute(
                text(
                    "SELECT id::text FROM tasks WHERE sequence_instance_id = :i"
                    " AND status = 'active'"
                ),
                {"i": instance_id},
            ).scalar_one()
            complete_tasks(runtime_context(conn, org), [task])


def do_pause(engine: Engine, org: str, instance_id: str) -> None:
    with engine.begin() as conn:
        pause(runtime_context(conn, org), [instance_id])


def history(engine: Engine, instance_id: str, of: list[str] | None = None) -> list[str]:
    """The finished tasks of the instance, every column as text (with ``of``: those rows
    of an earlier call, read again, whatever their status now)."""
    if of is not None:
        ids = [row[1:37] for row in of]
        with engine.connect() as conn:
            return list(
                conn.execute(
                    text(
                        "SELECT t::text FROM tasks t WHERE t.id = ANY(CAST(:ids AS uuid[]))"
                        " ORDER BY t.id"
                    ),
                    {"ids": ids},
                ).scalars()
            )
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT t::text FROM tasks t WHERE t.sequence_instance_id = :i"
                    " AND t.status IN ('completed', 'cancelled') ORDER BY t.id"
                ),
                {"i": instance_id},
            ).scalars()
        )


def tasks(engine: Engine, instance_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                text(
                    "SELECT id::text AS id, sequence_step_order AS step, name, status, due_date,"
                    " message, description, metadata, cancelled_at"
                    " FROM tasks WHERE sequence_instance_id = :i"
                    " ORDER BY sequence_step_order, created_at, id"
                ),
                {"i": instance_id},
            ).mappings()
        ]


def instance_row(engine: Engine, instance_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text(
                    "SELECT status, current_step_order, total_steps, metadata"
                    " FROM sequence_instances WHERE id = :i"
                ),
                {"i": instance_id},
            )
            .mappings()
            .one()
        )


def pending_names(engine: Engine, instance_id: str) -> list[str]:
    return [t["name"] for t in tasks(engine, instance_id) if t["status"] == "pending"]


def active_names(engine: Engine, instance_id: str) -> list[str]:
    return [t["name"] for t in tasks(engine, instance_id) if t["status"] == "active"]


def check_orders(engine: Engine, instance_id: str, names: list[str]) -> None:
    """Pending and active tasks sit at their step's position in the new template."""
    for t in tasks(engine, instance_id):
        if t["status"] in ("pending", "active"):
            assert t["step"] == names.index(t["name"]) + 1, t

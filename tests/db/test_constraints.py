"""Every CHECK boundary of the design document, accepted or rejected by the database as written;
and deletes that keep task history (the fix to the document's own contradiction)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import errors

ORG = "11111111-1111-1111-1111-111111111111"
RESTAURANT = "22222222-2222-2222-2222-222222222222"
TEMPLATE = "33333333-3333-3333-3333-333333333333"


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("INSERT INTO organisations (id, name) VALUES (%s, 'Org')", (ORG,))
        connection.execute(
            "INSERT INTO restaurants (id, organisation_id, name) VALUES (%s, %s, 'R')",
            (RESTAURANT, ORG),
        )
        connection.execute(
            "INSERT INTO sequence_templates (id, organisation_id, name) VALUES (%s, %s, 'Tpl')",
            (TEMPLATE, ORG),
        )
        yield connection


def accepted(conn: psycopg.Connection[tuple[Any, ...]], sql: str, params: Any) -> bool:
    try:
        with conn.transaction():
            conn.execute(sql, params)
            raise _Rollback
    except _Rollback:
        return True
    except errors.CheckViolation:
        return False


class _Rollback(Exception):
    pass


TEMPLATE_INSERT = (
    "INSERT INTO sequence_templates (organisation_id, name, description) VALUES (%s, %s, %s)"
)


@pytest.mark.parametrize(
    ("name", "description", "ok"),
    [
        ("ab", None, False),
        ("abc", None, True),
        ("x" * 100, None, True),
        ("x" * 101, None, False),
        ("abc", "d" * 1000, True),
        ("abc", "d" * 1001, False),
        ("é" * 100, None, True),  # characters, not bytes
    ],
)
def test_template_checks(conn: Any, name: str, description: str | None, ok: bool) -> None:
    assert accepted(conn, TEMPLATE_INSERT, (ORG, name, description)) is ok


STEP_DEFAULTS: dict[str, Any] = {
    "step_order": 1,
    "name": "Step",
    "description": None,
    "type": "call",
    "priority": "medium",
    "delay_value": 0,
    "delay_unit": "days",
}
STEP_CASES = [
    ("step_order", 0, False),
    ("step_order", 1, True),
    ("step_order", -1, False),
    ("name", "ab", False),
    ("name", "abc", True),
    ("name", "n" * 100, True),
    ("name", "n" * 101, False),
    ("description", "d" * 500, True),
    ("description", "d" * 501, False),
    ("delay_value", -1, False),
    ("delay_value", 0, True),
    ("delay_value", 2147483647, True),
    ("priority", "urgent", False),
    ("delay_unit", "weeks", False),
    ("type", "fax", False),
    *[("type", t, True) for t in ("internal_activity", "social_message", "text", "email", "call")],
    *[("priority", p, True) for p in ("low", "medium", "high")],
    *[("delay_unit", u, True) for u in ("minutes", "hours", "days")],
]


@pytest.mark.parametrize(("field", "value", "ok"), STEP_CASES)
def test_step_checks(conn: Any, field: str, value: Any, ok: bool) -> None:
    row = {**STEP_DEFAULTS, field: value}
    sql = (
        "INSERT INTO sequence_steps (sequence_template_id, step_order, name, description, type, "
        "priority, delay_value, delay_unit) VALUES (%(t)s, %(step_order)s, %(name)s, "
        "%(description)s, %(type)s, %(priority)s, %(delay_value)s, %(delay_unit)s)"
    )
    assert accepted(conn, sql, {"t": TEMPLATE, **row}) is ok


def test_step_order_unique_per_template(conn: Any) -> None:
    sql = (
        "INSERT INTO sequence_steps (sequence_template_id, step_order, name, type) "
        "VALUES (%s, 1, 'First', 'call')"
    )
    conn.execute(sql, (TEMPLATE,))
    with pytest.raises(errors.UniqueViolation):
        conn.execute(sql, (TEMPLATE,))


NOW = "2026-01-01T00:00:00Z"
INSTANCE_CASES = [
    # status, paused_at, completed_at, cancelled_at, accepted
    ("active", None, None, None, True),
    ("active", NOW, None, None, False),
    ("active", None, NOW, None, False),
    ("active", None, None, NOW, False),
    ("paused", NOW, None, None, True),
    ("paused", None, None, None, False),
    ("paused", NOW, NOW, None, False),
    ("completed", None, NOW, None, True),
    ("completed", None, None, None, False),
    ("completed", NOW, NOW, None, False),  # a paused_at left behind
    ("cancelled", None, None, NOW, True),
    ("cancelled", None, None, None, False),
    ("cancelled", NOW, None, NOW, False),  # cancel-from-paused must clear paused_at
    ("archived", None, None, None, False),
]


@pytest.mark.parametrize(("status", "paused", "completed", "cancelled", "ok"), INSTANCE_CASES)
def test_instance_status_timestamp_checks(
    conn: Any,
    status: str,
    paused: str | None,
    completed: str | None,
    cancelled: str | None,
    ok: bool,
) -> None:
    sql = (
        "INSERT INTO sequence_instances (sequence_template_id, restaurant_id, organisation_id, "
        "name, status, total_steps, paused_at, completed_at, cancelled_at) "
        "VALUES (%s, %s, %s, 'i', %s, 1, %s, %s, %s)"
    )
    assert (
        accepted(conn, sql, (TEMPLATE, RESTAURANT, ORG, status, paused, completed, cancelled)) is ok
    )


@pytest.mark.parametrize("total", [0, 1])
def test_instance_total_steps(conn: Any, total: int) -> None:
    sql = (
        "INSERT INTO sequence_instances (sequence_template_id, restaurant_id, organisation_id, "
        "name, total_steps) VALUES (%s, %s, %s, 'i', %s)"
    )
    assert accepted(conn, sql, (TEMPLATE, RESTAURANT, ORG, total)) is (total > 0)


def _instance(conn: Any) -> str:
    return str(
        conn.execute(
            "INSERT INTO sequence_instances (sequence_template_id, restaurant_id, organisation_id, "
            "name, total_steps) VALUES (%s, %s, %s, 'i', 2) RETURNING id",
            (TEMPLATE, RESTAURANT, ORG),
        ).fetchone()[0]
    )


@pytest.mark.parametrize(
    ("linked", "order", "ok"),
    [
        (False, None, True),
        (True, 1, True),
        (True, None, False),
        (False, 1, False),
        (True, 0, False),
    ],
)
def test_task_sequence_consistency(conn: Any, linked: bool, order: int | None, ok: bool) -> None:
    instance = _instance(conn) if linked else None
    sql = (
        "INSERT INTO tasks (organisation_id, name, sequence_instance_id, sequence_step_order) "
        "VALUES (%s, 't', %s, %s)"
    )
    assert accepted(conn, sql, (ORG, instance, order)) is ok


def _linked_tasks(conn: Any) -> str:
    instance = _instance(conn)
    for order in (1, 2):
        conn.execute(
            "INSERT INTO tasks (organisation_id, restaurant_id, name, sequence_instance_id, "
            "sequence_step_order) VALUES (%s, %s, %s, %s, %s)",
            (ORG, RESTAURANT, f"task {order}", instance, order),
        )
    return instance


def _task_links(conn: Any) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT name, sequence_instance_id, sequence_step_order FROM tasks ORDER BY name"
    ).fetchall()


def test_deleting_an_instance_keeps_its_tasks_unlinked(conn: Any) -> None:
    instance = _linked_tasks(conn)
    conn.execute("DELETE FROM sequence_instances WHERE id = %s", (instance,))
    assert _task_links(conn) == [("task 1", None, None), ("task 2", None, None)]


def test_deleting_a_template_keeps_task_history(conn: Any) -> None:
    _linked_tasks(conn)
    conn.execute("DELETE FROM sequence_templates WHERE id = %s", (TEMPLATE,))
    assert conn.execute("SELECT count(*) FROM sequence_instances").fetchone()[0] == 0
    assert _task_links(conn) == [("task 1", None, None), ("task 2", None, None)]


def test_deleting_a_restaurant_keeps_task_history(conn: Any) -> None:
    _linked_tasks(conn)
    conn.execute("DELETE FROM restaurants WHERE id = %s", (RESTAURANT,))
    assert conn.execute("SELECT count(*) FROM sequence_instances").fetchone()[0] == 0
    assert _task_links(conn) == [("task 1", None, None), ("task 2", None, None)]


def test_without_the_fix_the_document_contradicts_itself(conn: Any) -> None:
    """The design's ON DELETE SET NULL alone breaks its own consistency check."""
    conn.execute("DROP TRIGGER tasks_clear_sequence_step_order ON tasks")
    instance = _linked_tasks(conn)
    with pytest.raises(errors.CheckViolation, match="tasks_sequence_consistency_check"):
        conn.execute("DELETE FROM sequence_instances WHERE id = %s", (instance,))

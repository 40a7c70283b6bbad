"""Migrations on a database that holds templates, instances and tasks."""

from __future__ import annotations

import psycopg

from seqctl.db.connection import make_engine
from seqctl.db.migrate import downgrade, upgrade

from ..db import catalog


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        (downgrade if down else upgrade)(conn, revision)
    engine.dispose()


def _seed(url: str) -> None:
    with psycopg.connect(url) as conn:
        org = conn.execute("INSERT INTO organisations (name) VALUES ('O') RETURNING id").fetchone()
        restaurant = conn.execute(
            "INSERT INTO restaurants (organisation_id, name) VALUES (%s, 'R') RETURNING id", org
        ).fetchone()
        template = conn.execute(
            "INSERT INTO sequence_templates (organisation_id, name) VALUES (%s, 'Tpl') "
            "RETURNING id",
            org,
        ).fetchone()
        conn.execute(
            "INSERT INTO sequence_steps (sequence_template_id, step_order, name, type) "
            "VALUES (%s, 1, 'Call', 'call'), (%s, 2, 'Mail', 'email')",
            (template[0], template[0]),  # type: ignore[index]
        )
        instance = conn.execute(
            "INSERT INTO sequence_instances (sequence_template_id, restaurant_id, "
            "organisation_id, name, total_steps) VALUES (%s, %s, %s, 'I', 2) RETURNING id",
            (template[0], restaurant[0], org[0]),  # type: ignore[index]
        ).fetchone()
        conn.execute(
            "INSERT INTO tasks (organisation_id, restaurant_id, name, status, "
            "sequence_instance_id, sequence_step_order) VALUES "
            "(%s, %s, 'Call', 'active', %s, 1), (%s, %s, 'Mail', 'pending', %s, 2), "
            "(%s, %s, 'Standalone', 'pending', NULL, NULL)",
            (org[0], restaurant[0], instance[0]) * 2 + (org[0], restaurant[0]),  # type: ignore[index]
        )


def test_downgrade_004_keeps_every_task(database_url: str) -> None:
    _seed(database_url)
    tasks_before = catalog.rows(database_url, "SELECT id, name, status FROM tasks ORDER BY name")
    _migrate(database_url, "003", down=True)
    assert (
        catalog.rows(database_url, "SELECT id, name, status FROM tasks ORDER BY name")
        == tasks_before
    )
    columns = {c[0] for c in catalog.columns(database_url, "tasks")}
    assert not columns & {"sequence_instance_id", "sequence_step_order"}
    assert catalog.rows(database_url, "SELECT count(*) FROM sequence_instances") == [(1,)]


def test_round_trip_under_data(database_url: str) -> None:
    _seed(database_url)
    keep = (
        catalog.dump_table(database_url, "restaurants"),
        catalog.rows(database_url, "SELECT id, name FROM tasks ORDER BY id"),
    )
    _migrate(database_url, "base", down=True)
    assert (
        catalog.dump_table(database_url, "restaurants"),
        catalog.rows(database_url, "SELECT id, name FROM tasks ORDER BY id"),
    ) == keep
    _migrate(database_url, "head")
    assert catalog.rows(database_url, "SELECT count(*) FROM sequence_templates") == [(0,)]
    assert catalog.rows(database_url, "SELECT count(*) FROM tasks") == [(3,)]
    assert catalog.rows(
        database_url,
        "SELECT count(*) FROM tasks WHERE sequence_instance_id IS NULL "
        "AND sequence_step_order IS NULL",
    ) == [(3,)]

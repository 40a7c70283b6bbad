"""apply and advance as real processes: killed mid-transaction, and run concurrently."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
from sqlalchemy import Engine, text

from ..db.sequences_helpers import S, make_template
from .processes import (
    dump,
    kill_and_wait_for_backend,
    restore_speed,
    run_all,
    seqctl_process,
    slow_down_inserts,
    wait_for_query,
)

TABLES = ("sequence_templates", "sequence_instances", "tasks")


def _restaurants(engine: Engine, org: str, n: int, tmp_path: Path) -> Path:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO restaurants (organisation_id, name) "
                "SELECT :org, 'Bistro ' || g FROM generate_series(1, :n) g"
            ),
            {"org": org, "n": n},
        )
    listing = tmp_path / "restaurants.txt"
    listing.write_text("".join(f"Bistro {i}\n" for i in range(1, n + 1)))
    return listing


def test_killed_apply_leaves_nothing_behind(
    engine: Engine, demo_org: str, database_url: str, tmp_path: Path
) -> None:
    make_template(engine, demo_org, "Bulk Flow", [S("Call them"), S("Email them", 2)])
    listing = _restaurants(engine, demo_org, 300, tmp_path)
    before = dump(database_url, TABLES)
    slow_down_inserts(database_url, "tasks", 30)
    process = seqctl_process(
        [
            "--database-url",
            database_url,
            "apply",
            "-t",
            "Bulk Flow",
            "--restaurants-file",
            str(listing),
        ]
    )
    backend = wait_for_query(database_url, "INSERT INTO tasks")
    kill_and_wait_for_backend(process, database_url, backend)
    restore_speed(database_url, "tasks")
    assert dump(database_url, TABLES) == before
    again = run_all(
        [
            [
                "--database-url",
                database_url,
                "apply",
                "-t",
                "Bulk Flow",
                "--restaurants-file",
                str(listing),
            ]
        ]
    )
    assert again[0][0] == 0, again[0][2]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sequence_instances")).scalar() == 300
        assert conn.execute(text("SELECT count(*) FROM tasks")).scalar() == 600


def test_eight_concurrent_applies_start_each_instance_once(
    engine: Engine, demo_org: str, database_url: str, tmp_path: Path
) -> None:
    make_template(engine, demo_org, "Race Flow", [S("Call them"), S("Email them", 1)])
    listing = _restaurants(engine, demo_org, 100, tmp_path)
    slow_down_inserts(database_url, "sequence_instances", 0.5)  # make the runs overlap
    command = [
        "--database-url",
        database_url,
        "apply",
        "-t",
        "Race Flow",
        "--restaurants-file",
        str(listing),
        "--format",
        "json",
    ]
    results = run_all([command] * 8)
    assert [code for code, _, _ in results] == [0] * 8, [err for _, _, err in results]
    with engine.connect() as conn:
        per_restaurant = (
            conn.execute(text("SELECT count(*) FROM sequence_instances GROUP BY restaurant_id"))
            .scalars()
            .all()
        )
        usage = conn.execute(
            text("SELECT usage_count FROM sequence_templates WHERE name = 'Race Flow'")
        ).scalar()
        tasks = conn.execute(text("SELECT count(*) FROM tasks")).scalar()
    assert sorted(set(per_restaurant)) == [1] and len(per_restaurant) == 100
    assert usage == 100
    assert tasks == 200


def test_concurrent_advance_while_tasks_are_completed(
    engine: Engine, demo_org: str, database_url: str, tmp_path: Path
) -> None:
    """The web app completes tasks directly; 8 `seqctl advance` processes reconcile at once."""
    make_template(
        engine,
        demo_org,
        "Three Steps",
        [S("One"), S("Two", 0, "minutes"), S("Three", 0, "minutes")],
    )
    listing = _restaurants(engine, demo_org, 40, tmp_path)
    assert (
        run_all(
            [
                [
                    "--database-url",
                    database_url,
                    "apply",
                    "-t",
                    "Three Steps",
                    "--restaurants-file",
                    str(listing),
                ]
            ]
        )[0][0]
        == 0
    )

    def web_app_completes_step(order: int) -> None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM tasks WHERE sequence_step_order = %s AND status = 'active'",
                    (order,),
                )
            ]
            for task_id in ids:  # one by one, as people click
                conn.execute(
                    "UPDATE tasks SET status = 'completed', completed_at = now() WHERE id = %s",
                    (task_id,),
                )

    advance = ["--database-url", database_url, "advance"]
    for order in (1, 2):
        clicker = threading.Thread(target=web_app_completes_step, args=(order,))
        clicker.start()
        results = run_all([advance] * 8)
        clicker.join()
        assert all(code == 0 for code, _, _ in results), [e for _, _, e in results]
        assert run_all([advance])[0][0] == 0  # a last pass after the clicking stopped
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT sequence_instance_id, sequence_step_order, status, "
                    "count(*) OVER (PARTITION BY sequence_instance_id, status) AS n "
                    "FROM tasks ORDER BY 1, 2"
                )
            ).all()
            steps = (
                conn.execute(text("SELECT DISTINCT current_step_order FROM sequence_instances"))
                .scalars()
                .all()
            )
        assert steps == [order + 1]
        for _, step, status, n in rows:
            expected = (
                "completed" if step <= order else "active" if step == order + 1 else "pending"
            )
            assert status == expected
            if status == "active":
                assert n == 1  # never two active steps in one instance

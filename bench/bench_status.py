"""`seqctl status` on a large organisation: 100,000 instances and 1,000,000 tasks.

Usage: python bench/bench_status.py [--restaurants 10000] [--templates 10] [--steps 10]
                                    [--repeat 20]
                                    [--server postgresql://postgres@127.0.0.1:5432/postgres]

Creates its own database on the server (dropped at the end) and fills it with SQL
(generate_series, not through apply): RESTAURANTS restaurants, each with one instance of
each of TEMPLATES templates of STEPS steps (60 % active, 10 % paused, 20 % completed,
10 % cancelled; tasks completed / active / pending / cancelled to match), then ANALYZE.
Times, as the median of REPEAT runs (different restaurants and instances each time):

- status of one restaurant (`list_instances(restaurant=…)`: page + summary);
- one instance in detail (`instance_detail`);
- the organisation-wide status: the first page in next-due order plus the summary per status;
- the same, only active instances;
- `seqctl status --restaurant …` as a command (a fresh process; for information).

Targets: one restaurant ≤ 50 ms; the organisation-wide summary ≤ 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchdb import DEFAULT_SERVER, temporary_database
from sqlalchemy import Connection, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seqctl.db.connection import make_engine  # noqa: E402
from seqctl.db.migrate import upgrade  # noqa: E402
from seqctl.runtime.context import runtime_context  # noqa: E402
from seqctl.runtime.lookup import Organisation  # noqa: E402
from seqctl.runtime.status import instance_detail, list_instances  # noqa: E402

ORG = "0c000000-0000-0000-0000-000000000001"
ORGANISATION = Organisation(ORG, "Status Bench")
TARGET_RESTAURANT_MS = 50.0
TARGET_ORGANISATION_MS = 1000.0


def fill(conn: Connection, restaurants: int, templates: int, steps: int) -> None:
    upgrade(conn, "head")
    params = {"o": ORG, "r": restaurants, "t": templates, "s": steps}
    conn.execute(text("INSERT INTO organisations (id, name) VALUES (:o, 'Status Bench')"), params)
    conn.execute(
        text(
            "INSERT INTO restaurants (organisation_id, name, city) SELECT :o, 'Restaurant ' || g,"
            " 'City ' || (g % 50) FROM generate_series(1, :r) g"
        ),
        params,
    )
    conn.execute(
        text(
            "INSERT INTO sequence_templates (organisation_id, name) SELECT :o, 'Template ' || g"
            " FROM generate_series(1, :t) g"
        ),
        params,
    )
    conn.execute(
        text(
            "INSERT INTO sequence_steps (sequence_template_id, step_order, name, type)"
            " SELECT t.id, s, 'Step ' || s, 'call' FROM sequence_templates t,"
            " generate_series(1, :s) s"
        ),
        params,
    )
    # instance number n: status by n % 10, current step by n % steps
    conn.execute(
        text(
            "INSERT INTO sequence_instances (sequence_template_id, restaurant_id, organisation_id,"
            " name, status, current_step_order, total_steps, started_at, paused_at, completed_at,"
            " cancelled_at, metadata)"
            " SELECT t.id, r.id, :o, t.name || ' - ' || r.name, x.status, x.step, :s,"
            " now() - interval '30 days',"
            " CASE WHEN x.status = 'paused' THEN now() END,"
            " CASE WHEN x.status = 'completed' THEN now() END,"
            " CASE WHEN x.status = 'cancelled' THEN now() END, jsonb_build_object('n', x.n)"
            " FROM restaurants r CROSS JOIN sequence_templates t"
            " CROSS JOIN LATERAL (SELECT abs(hashtext(r.id::text || t.id::text)) AS n) h"
            " CROSS JOIN LATERAL (SELECT h.n, CASE WHEN h.n % 10 < 6 THEN 'active'"
            "   WHEN h.n % 10 = 6 THEN 'paused' WHEN h.n % 10 < 9 THEN 'completed'"
            "   ELSE 'cancelled' END AS status, 1 + h.n % :s AS step) x"
        ),
        params,
    )
    conn.execute(
        text(
            "INSERT INTO tasks (organisation_id, restaurant_id, name, type, status, due_date,"
            " completed_at, cancelled_at, message, message_rendered, sequence_instance_id,"
            " sequence_step_order)"
            " SELECT :o, si.restaurant_id, 'Step ' || s, 'call', y.status,"
            " CASE WHEN y.status = 'active' THEN now() + make_interval(hours =>"
            "   ((si.metadata ->> 'n')::int % 200) - 100) END,"
            " CASE WHEN y.status = 'completed' THEN now() END,"
            " CASE WHEN y.status = 'cancelled' THEN now() END,"
            " 'Hello {restaurant_name}', 'Hello there', si.id, s"
            " FROM sequence_instances si CROSS JOIN generate_series(1, :s) s"
            " CROSS JOIN LATERAL (SELECT CASE"
            "   WHEN si.status = 'completed' OR s < si.current_step_order THEN 'completed'"
            "   WHEN si.status = 'cancelled' THEN 'cancelled'"
            "   WHEN s = si.current_step_order THEN 'active' ELSE 'pending' END AS status) y"
        ),
        params,
    )
    conn.execute(text("ANALYZE"))


def median_ms(runs: int, action: Callable[[int], object]) -> float:
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        action(i)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restaurants", type=int, default=10_000)
    parser.add_argument("--templates", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--server", default=DEFAULT_SERVER)
    args = parser.parse_args()
    with temporary_database(args.server, "status") as url:
        return run(args, url)


def run(args: argparse.Namespace, url: str) -> int:
    engine = make_engine(url)
    rows: list[tuple[str, float, float | None]] = []
    try:
        started = time.perf_counter()
        with engine.begin() as conn:
            fill(conn, args.restaurants, args.templates, args.steps)
        with engine.connect() as conn:
            instances, tasks = conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM sequence_instances), (SELECT count(*) FROM tasks)"
                )
            ).one()
            some = list(
                conn.execute(
                    text("SELECT id::text FROM sequence_instances ORDER BY random() LIMIT :n"),
                    {"n": args.repeat},
                ).scalars()
            )
        print(
            f"data: {instances:,} instances, {tasks:,} tasks "
            f"(generated in {time.perf_counter() - started:.0f} s)"
        )
        step = max(1, args.restaurants // args.repeat)

        with engine.connect() as conn:

            def one_restaurant(i: int) -> None:
                report = list_instances(
                    runtime_context(conn, ORGANISATION), restaurant=f"Restaurant {1 + i * step}"
                )
                assert len(report.rows) == args.templates
                conn.rollback()

            def detail(i: int) -> None:
                assert (
                    len(instance_detail(runtime_context(conn, ORGANISATION), some[i]).steps)
                    == args.steps
                )
                conn.rollback()

            def organisation(_: int) -> None:
                report = list_instances(runtime_context(conn, ORGANISATION))
                assert report.total == instances
                conn.rollback()

            def organisation_active(_: int) -> None:
                list_instances(runtime_context(conn, ORGANISATION), status=["active"])
                conn.rollback()

            organisation(0)  # warm the cache once, as a server in use would be
            rows.append(
                (
                    "status --restaurant R (one restaurant)",
                    median_ms(args.repeat, one_restaurant),
                    TARGET_RESTAURANT_MS,
                )
            )
            rows.append(("status INSTANCE (timeline)", median_ms(args.repeat, detail), None))
            rows.append(
                (
                    "status (organisation: first 100 + summary)",
                    median_ms(max(3, args.repeat // 4), organisation),
                    TARGET_ORGANISATION_MS,
                )
            )
            rows.append(
                (
                    "status --status active (organisation)",
                    median_ms(max(3, args.repeat // 4), organisation_active),
                    TARGET_ORGANISATION_MS,
                )
            )
        command = [
            sys.executable,
            "-m",
            "seqctl",
            "--database-url",
            url,
            "status",
            "--restaurant",
            "Restaurant 77",
            "--format",
            "json",
        ]
        rows.append(
            (
                "seqctl status --restaurant R (process)",
                median_ms(
                    3, lambda _: subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
                ),
                None,
            )
        )
    finally:
        engine.dispose()
    print(f"{'query (median)':<46}{'ms':>9}{'target':>9}")
    ok = True
    for label, ms, target in rows:
        print(f"{label:<46}{ms:>9.1f}{'' if target is None else f'≤{target:.0f}':>9}")
        ok = ok and (target is None or ms <= target)
    print(f"targets: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

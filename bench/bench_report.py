"""`seqctl report` on a large organisation: 100,000 instances and 1,000,000 tasks.

Usage: python bench/bench_report.py [--restaurants 10000] [--templates 10] [--steps 10]
                                    [--repeat 5]
                                    [--server postgresql://postgres@127.0.0.1:5432/postgres]

Creates its own database on the server (dropped at the end) and fills it with set-based
SQL (generate_series, not through apply): RESTAURANTS restaurants, each with one instance
of each of TEMPLATES templates of STEPS steps, started over the last 12 weeks (60 % active,
10 % paused, 20 % completed, 10 % cancelled); their tasks completed (some skipped, one in
five without a recorded activation time), active (some overdue), pending or cancelled with
their instance, with due dates, completion and activation times; then VACUUM (ANALYZE).

Measures, as the median of REPEAT runs:

- the baseline: the report's four aggregate queries sent as they are through psycopg;
- ``build_report`` in-process (the same queries plus the lookups of the command);
- ``seqctl report`` as a process, in text, json and html (matplotlib charts included),
  against a target of 2 s for the html;
- ``seqctl --version`` as a process (the interpreter's and the CLI's own start-up);
- the SQL statements of a report, counted for the organisation and for one a tenth of
  its size: they must be equal (no per-instance or per-template query).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from benchdb import DEFAULT_SERVER, temporary_database
from sqlalchemy import Connection, Engine, event, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seqctl.db.connection import make_engine  # noqa: E402
from seqctl.db.migrate import upgrade  # noqa: E402
from seqctl.runtime.lookup import Organisation  # noqa: E402
from seqctl.runtime.report import (  # noqa: E402
    ASSIGNEES_SQL,
    FUNNEL_SQL,
    OVERDUE_AFTER,
    TEMPLATES_SQL,
    WEEKS_SQL,
    build_report,
)

ORG = "0c000000-0000-0000-0000-000000000002"
SMALL_ORG = "0c000000-0000-0000-0000-000000000003"
TARGET_PROCESS_MS = 2000.0
USERS = 20


def fill(
    conn: Connection, org: str, name: str, restaurants: int, templates: int, steps: int
) -> None:
    params = {
        "o": org,
        "ot": org,  # the same, as text
        "tag": org[-8:],
        "name": name,
        "r": restaurants,
        "t": templates,
        "s": steps,
        "u": USERS,
    }
    conn.execute(text("INSERT INTO organisations (id, name) VALUES (:o, :name)"), params)
    conn.execute(
        text(
            "INSERT INTO auth.users (id, email) SELECT md5(:ot || g)::uuid,"
            " 'rep' || g || '@' || :tag || '.example' FROM generate_series(1, :u) g"
        ),
        params,
    )
    conn.execute(
        text(
            "INSERT INTO profiles (id, organisation_id, email, name) SELECT u.id, :o,"
            " u.email, 'Rep ' || u.email FROM auth.users u WHERE u.email LIKE '%@' || :tag"
            " || '.example'"
        ),
        params,
    )
    conn.execute(
        text(
            "INSERT INTO restaurants (organisation_id, name, city) SELECT :o, 'Restaurant ' || g,"
            " 'City ' || (g % 50) FROM generate_series(1, :r) g"
        ),
        params,
    )
    conn.execute(
        text(
            "INSERT INTO sequence_templates (organisation_id, name, metadata) SELECT :o,"
            " 'Template ' || g, jsonb_build_object('seqctl', jsonb_build_object('key', 't' || g))"
            " FROM generate_series(1, :t) g"
        ),
        params,
    )
    conn.execute(
        text(
            "INSERT INTO sequence_steps (sequence_template_id, step_order, name, type, delay_value)"
            " SELECT t.id, s, 'Step ' || s, 'call', 1 FROM sequence_templates t,"
            " generate_series(1, :s) s WHERE t.organisation_id = :o"
        ),
        params,
    )
    # instance number n: status by n % 10, current step by n % steps, start within 12 weeks
    conn.execute(
        text(
            "INSERT INTO sequence_instances (sequence_template_id, restaurant_id, organisation_id,"
            " name, status, current_step_order, total_steps, assigned_to, started_at, paused_at,"
            " completed_at, cancelled_at, metadata)"
            " SELECT t.id, r.id, :o, t.name || ' - ' || r.name, x.status, x.step, :s,"
            " md5(:ot || (1 + h.n % :u))::uuid, x.started,"
            " CASE WHEN x.status = 'paused' THEN x.started + interval '2 days' END,"
            " CASE WHEN x.status = 'completed' THEN x.started + make_interval(days => :s,"
            "   hours => h.n % 48) END,"
            " CASE WHEN x.status = 'cancelled' THEN x.started + make_interval(days => x.step) END,"
            " jsonb_build_object('n', h.n)"
            " FROM restaurants r CROSS JOIN sequence_templates t"
            " CROSS JOIN LATERAL (SELECT abs(hashtext(r.id::text || t.id::text)) AS n) h"
            " CROSS JOIN LATERAL (SELECT CASE WHEN h.n % 10 < 6 THEN 'active'"
            "   WHEN h.n % 10 = 6 THEN 'paused' WHEN h.n % 10 < 9 THEN 'completed'"
            "   ELSE 'cancelled' END AS status, 1 + h.n % :s AS step,"
            "   now() - make_interval(days => 14 + h.n % 70, mins => h.n % 1440) AS started) x"
            " WHERE r.organisation_id = :o AND t.organisation_id = :o"
        ),
        params,
    )
    conn.execute(
        text(
            "INSERT INTO tasks (organisation_id, restaurant_id, name, type, status, due_date,"
            " completed_at, cancelled_at, assigned_to, metadata, sequence_instance_id,"
            " sequence_step_order)"
            " SELECT :o, si.restaurant_id, 'Step ' || s, 'call', y.status,"
            " CASE WHEN y.status = 'active' THEN now() + make_interval(hours => n % 200 - 100)"
            "   WHEN y.reached THEN y.at + interval '1 day' END,"
            " CASE WHEN y.status = 'completed' THEN y.at + make_interval(days => 1,"
            "   mins => n % 600 - 120) END,"
            " CASE WHEN y.status = 'cancelled' THEN COALESCE(si.cancelled_at, si.completed_at,"
            "   y.at + interval '1 day') END,"
            " si.assigned_to,"
            " jsonb_build_object('sequence', jsonb_strip_nulls(jsonb_build_object("
            "   'step_order', s, 'delay_value', 1, 'delay_unit', 'days',"
            "   'closed_by', y.closed_by,"
            "   'activated_at', CASE WHEN y.reached AND n % 5 <> 0 THEN y.at END))),"
            " si.id, s"
            " FROM sequence_instances si CROSS JOIN generate_series(1, :s) s"
            " CROSS JOIN LATERAL (SELECT (si.metadata ->> 'n')::int AS n) m"
            " CROSS JOIN LATERAL (SELECT si.started_at + make_interval(days => s - 1) AS at,"
            "   CASE"
            "   WHEN si.status = 'completed' OR s < si.current_step_order THEN"
            "     CASE WHEN s = 3 AND m.n % 13 = 0 THEN 'cancelled' ELSE 'completed' END"
            "   WHEN si.status = 'cancelled' THEN 'cancelled'"
            "   WHEN s = si.current_step_order THEN 'active' ELSE 'pending' END AS status,"
            "   CASE WHEN si.status = 'cancelled' AND s >= si.current_step_order THEN 'cancel'"
            "   END AS closed_by,"
            "   si.status = 'completed' OR s <= si.current_step_order AS reached) y"
            " WHERE si.organisation_id = :o"
        ),
        params,
    )


def median_ms(runs: int, action: Callable[[int], object]) -> float:
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        action(i)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def count_statements(engine: Engine, org: str) -> int:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        with engine.begin() as conn:
            build_report(conn, Organisation(org, "bench"))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(statements)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restaurants", type=int, default=10_000)
    parser.add_argument("--templates", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--server", default=DEFAULT_SERVER)
    args = parser.parse_args()
    with temporary_database(args.server, "report") as url:
        return run(args, url)


def run(args: argparse.Namespace, url: str) -> int:
    engine = make_engine(url)
    rows: list[tuple[str, float, float | None]] = []
    try:
        started = time.perf_counter()
        with engine.begin() as conn:
            upgrade(conn, "head")
            fill(conn, ORG, "Report Bench", args.restaurants, args.templates, args.steps)
            fill(
                conn,
                SMALL_ORG,
                "Report Bench Small",
                max(1, args.restaurants // 10),
                args.templates,
                args.steps,
            )
        with psycopg.connect(url, autocommit=True) as admin:  # as autovacuum would have
            admin.execute("VACUUM (ANALYZE)")
        with engine.connect() as conn:
            instances, tasks = conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM sequence_instances WHERE organisation_id = :o),"
                    " (SELECT count(*) FROM tasks WHERE organisation_id = :o)"
                ),
                {"o": ORG},
            ).one()
        print(
            f"data: {instances:,} instances, {tasks:,} tasks in the organisation "
            f"(generated in {time.perf_counter() - started:.0f} s)"
        )
        with engine.begin() as conn:  # warm the cache once, as a server in use would be
            report = build_report(conn, Organisation(ORG, "bench"))
        assert sum(t.started for t in report.templates) > 0

        # the baseline: the same four aggregate queries, bare, through psycopg
        with engine.begin() as conn:
            period = report.period
            params = {
                "org": ORG,
                "tids": None,
                "assigned": None,
                "now": report.generated_at,
                "overdue_before": report.generated_at - OVERDUE_AFTER,
                "since": period.since.isoformat(),
                "until": (period.until + timedelta(days=1)).isoformat(),
            }
            queries = [
                str(text(q).compile(dialect=conn.dialect))
                for q in (TEMPLATES_SQL, FUNNEL_SQL, ASSIGNEES_SQL, WEEKS_SQL)
            ]
        with psycopg.connect(url) as raw:
            raw.execute("SET jit = off")  # the settings build_report uses
            raw.execute("SET work_mem = '64MB'")

            def bare(_: int) -> None:
                for query in queries:
                    raw.execute(query, params).fetchall()

            rows.append(("4 aggregate queries, bare (psycopg)", median_ms(args.repeat, bare), None))

        def library(_: int) -> None:
            with engine.begin() as conn:
                build_report(conn, Organisation(ORG, "bench"))

        rows.append(("build_report (in-process)", median_ms(args.repeat, library), None))
        base = [sys.executable, "-m", "seqctl", "--database-url", url, "--org", ORG]
        for label, extra in (
            ("seqctl report (text, process)", ["report"]),
            ("seqctl report --format json (process)", ["report", "--format", "json"]),
            (
                "seqctl report --format html (process)",
                ["report", "--format", "html", "--out", "/dev/null"],
            ),
        ):
            command = base + extra
            rows.append(
                (
                    label,
                    median_ms(
                        args.repeat,
                        lambda _, c=command: subprocess.run(  # type: ignore[misc]
                            c, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                        ),
                    ),
                    TARGET_PROCESS_MS,
                )
            )
        version = [sys.executable, "-m", "seqctl", "--version"]
        rows.append(
            (
                "seqctl --version (process start-up)",
                median_ms(
                    args.repeat,
                    lambda _: subprocess.run(version, check=True, stdout=subprocess.DEVNULL),
                ),
                None,
            )
        )
        large, small = count_statements(engine, ORG), count_statements(engine, SMALL_ORG)
    finally:
        engine.dispose()
    print(f"{'measure (median of ' + str(args.repeat) + ')':<44}{'ms':>9}{'target':>9}")
    ok = True
    for label, ms, target in rows:
        print(f"{label:<44}{ms:>9.0f}{'' if target is None else f'≤{target:.0f}':>9}")
        ok = ok and (target is None or ms <= target)
    print(
        f"SQL statements of a report: {large} for {instances:,} instances, {small} for a tenth "
        f"of them ({'equal' if large == small else 'NOT equal'}; 4 of them aggregate queries)"
    )
    ok = ok and large == small
    print(f"targets: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

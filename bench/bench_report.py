"""`seqctl report` on a large organisation: 100,000 instances and 1,000,000 tasks.

Usage: python bench/bench_report.py [--restaurants 10000] [--templates 10] [--steps 10]
                                    [--repeat 5] [--hold FILE]
                                    [--server postgresql://postgres@127.0.0.1:5432/postgres]

Creates its own database on the server (dropped at the end) and fills it with set-based
SQL (generate_series, not through apply): RESTAURANTS restaurants, each with one instance
of each of TEMPLATES templates of STEPS steps, started over the last 12 weeks (60 % active,
10 % paused, 20 % completed, 10 % cancelled); their tasks completed (some skipped, one in
five without a recorded activation time), active (some overdue), pending or cancelled with
their instance, with due dates, completion and activation times; then VACUUM (ANALYZE).

Prints one table, each figure the median of REPEAT runs: wall time, and CPU time, which the
load of other programs on the machine inflates less (for processes their own, for the bare
queries the server process's, when the server runs on this machine):

- the baselines: the report's five aggregate queries sent bare through psycopg, one after
  the other on one connection, and shared as seqctl shares them between two connections
  (the funnel's times, templates and weeks on one, the funnel's counts and assignees at
  the same time on the other);
- ``seqctl report`` as a process in text, json, markdown and html (matplotlib charts
  included), each against the target of 2 s;
- the SQL statements of one report, counted for the organisation and for one a tenth of
  its size: they must be equal (no per-instance or per-template query);
- where the time goes: each aggregate query on its own, ``build_report`` in-process (on
  two connections, as the command runs it, and on one),
  the rendering of each format in-process, the start-up of a process (``seqctl
  --version``) and the import of matplotlib in a process.

The load average of the machine is printed with the table: on a loaded machine compare
the ratios to the baseline rather than the absolute times.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from benchdb import DEFAULT_SERVER, counted, temporary_database
from sqlalchemy import Connection, Engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seqctl.db.connection import Database, make_engine  # noqa: E402
from seqctl.db.migrate import upgrade  # noqa: E402
from seqctl.runtime.lookup import Organisation  # noqa: E402
from seqctl.runtime.report import (  # noqa: E402
    FIRST_SHARE,
    OVERDUE_AFTER,
    SECOND_SHARE,
    Report,
    build_report,
    report_queries,
)
from seqctl.runtime.report_formats import (  # noqa: E402
    render_html,
    render_markdown,
    render_text,
    report_json,
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


def process_ms(runs: int, command: list[str]) -> tuple[float, float]:
    """Median wall and CPU (user + system, the process's own) milliseconds of a command."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append((time.perf_counter() - started) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def server_cpu_reader(raw: psycopg.Connection[Any]) -> Callable[[], float | None]:
    """The CPU milliseconds of the connection's server process so far, where /proc shows it
    (a server on this machine); parallel workers are not counted."""
    pid = raw.execute("SELECT pg_backend_pid()").fetchone()
    stat = Path(f"/proc/{pid[0] if pid else 0}/stat")
    ticks = os.sysconf("SC_CLK_TCK")

    def read() -> float | None:
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) * 1000 / ticks

    return read


def bare_beside(url: str, queries: dict[str, str], params: dict[str, Any], repeat: int) -> float:
    """Median wall milliseconds of the five bare queries shared as seqctl shares them: its
    first share on one connection while the second share runs on another, in a thread."""
    with psycopg.connect(url) as first, psycopg.connect(url) as second:
        for conn in (first, second):  # the settings build_report uses on two connections
            conn.execute("SET jit = off")
            conn.execute("SET work_mem = '64MB'")
            conn.execute("SET max_parallel_workers_per_gather = 0")

        def others() -> None:
            for name in SECOND_SHARE:
                second.execute(queries[name], params).fetchall()

        walls = []
        for _ in range(repeat):
            started = time.perf_counter()
            beside = threading.Thread(target=others)
            beside.start()
            for name in FIRST_SHARE:
                first.execute(queries[name], params).fetchall()
            beside.join()
            walls.append((time.perf_counter() - started) * 1000)
    return statistics.median(walls)


def report_as_the_cli(url: str, org: str) -> Report:
    """``build_report`` as ``seqctl report`` calls it: in a read-only snapshot, the funnel on
    that connection while the other three queries run on a second one reading the same
    snapshot."""
    db = Database(None, url)
    with db.transaction(snapshot=True) as conn:
        return build_report(
            conn,
            Organisation(org, "bench"),
            second=lambda snapshot: db.transaction(snapshot_id=snapshot),
        )


def count_statements(engine: Engine, url: str, org: str) -> int:
    with counted(engine) as statements:
        report_as_the_cli(url, org)
    return len(statements)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restaurants", type=int, default=10_000)
    parser.add_argument("--templates", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument(
        "--hold",
        type=Path,
        metavar="FILE",
        help="after generating the data, write the database URL to FILE and wait until FILE "
        "is removed (to EXPLAIN or profile against it), then measure and drop the database",
    )
    args = parser.parse_args()
    with temporary_database(args.server, "report") as url:
        engine = make_engine(url)
        try:
            instances, tasks = prepare(engine, url, args)
            if args.hold is not None:
                args.hold.write_text(url + "\n", encoding="utf-8")
                print(f"holding the database until {args.hold} is removed", flush=True)
                while args.hold.exists():
                    time.sleep(1)
            return measure(engine, url, args.repeat, instances)
        finally:
            engine.dispose()


def prepare(engine: Engine, url: str, args: argparse.Namespace) -> tuple[int, int]:
    """The schema and the two organisations' data, vacuumed; their sizes."""
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
    instances, tasks = sizes(engine)
    print(
        f"data: {instances:,} instances, {tasks:,} tasks in the organisation "
        f"(generated in {time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    return instances, tasks


def sizes(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        instances, tasks = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM sequence_instances WHERE organisation_id = :o),"
                " (SELECT count(*) FROM tasks WHERE organisation_id = :o)"
            ),
            {"o": ORG},
        ).one()
    return int(instances), int(tasks)


Row = tuple[str, float, float | None, float | None]  # label, wall ms, cpu ms, target ms


def measure(engine: Engine, url: str, repeat: int, instances: int) -> int:
    load_before = os.getloadavg()[0]
    with engine.begin() as conn:  # warm the cache once, as a server in use would be
        report = build_report(conn, Organisation(ORG, "bench"))
        assert sum(t.started for t in report.templates) > 0
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
        queries = {
            name: str(text(query).compile(dialect=conn.dialect))
            for name, query in report_queries(conn).items()
        }
    main_rows: list[Row] = []
    detail: list[Row] = []
    with psycopg.connect(url) as raw:
        raw.execute("SET jit = off")  # the settings build_report uses
        raw.execute("SET work_mem = '64MB'")
        backend = server_cpu_reader(raw)

        def bare_queries(chosen: list[str]) -> tuple[float, float | None]:
            walls, cpus = [], []
            for _ in range(repeat):
                cpu_before = backend()
                started = time.perf_counter()
                for name in chosen:
                    raw.execute(queries[name], params).fetchall()
                walls.append((time.perf_counter() - started) * 1000)
                cpu_after = backend()
                if cpu_before is not None and cpu_after is not None:
                    cpus.append(cpu_after - cpu_before)
            return statistics.median(walls), statistics.median(cpus) if cpus else None

        main_rows.append(
            ("baseline: 5 aggregate queries, bare", *bare_queries(list(queries)), None)
        )
        main_rows.append(
            (
                "baseline: the same on two connections at once",
                bare_beside(url, queries, params, repeat),
                None,
                None,
            )
        )
        for name in queries:
            detail.append((f"  SQL {name} query, bare", *bare_queries([name]), None))
    base = [sys.executable, "-m", "seqctl", "--database-url", url, "--org", ORG, "report"]
    for fmt in ("text", "json", "markdown", "html"):
        extra = ["--format", fmt] + (["--out", os.devnull] if fmt == "html" else [])
        main_rows.append(
            (
                f"seqctl report --format {fmt} (process)",
                *process_ms(repeat, base + extra),
                TARGET_PROCESS_MS,
            )
        )
    large, small = count_statements(engine, url, ORG), count_statements(engine, url, SMALL_ORG)

    def one_connection(_: int) -> None:
        with engine.begin() as conn:
            build_report(conn, Organisation(ORG, "bench"))

    detail.append(
        (
            "  build_report, in-process, two connections",
            median_ms(repeat, lambda _: report_as_the_cli(url, ORG)),
            None,
            None,
        )
    )
    alone = median_ms(repeat, one_connection)
    detail.append(("  build_report, in-process, one connection", alone, None, None))
    detail += render_rows(report, repeat)
    for label, command in (
        ("  process start-up (seqctl --version)", [sys.executable, "-m", "seqctl", "--version"]),
        (
            "  process importing matplotlib for html",
            [
                sys.executable,
                "-c",
                "from seqctl.runtime.report_formats import preload; t = preload(); t and t.join()",
            ],
        ),
    ):
        detail.append((label, *process_ms(repeat, command), None))
    load_after = os.getloadavg()[0]

    print(
        f"{'measure (median of ' + str(repeat) + ')':<46}{'wall ms':>9}{'cpu ms':>9}{'target':>9}"
    )
    ok = True
    for label, wall, used, target in main_rows:
        print(
            f"{label:<46}{wall:>9.0f}{'' if used is None else f'{used:.0f}':>9}"
            f"{'' if target is None else f'≤{target:.0f}':>9}"
            f"{'' if target is None else ('  ok' if wall <= target else '  MISSED')}"
        )
        ok = ok and (target is None or wall <= target)
    print(
        f"{'SQL statements of one report':<46}{large:>9}{'':>9}{'fixed':>9}"
        f"  {large} for {instances:,} instances, {small} for a tenth of them"
        f" ({'equal' if large == small else 'NOT equal'}; 5 aggregate queries, on two connections)"
    )
    ok = ok and large == small
    print("where the time goes:")
    for label, wall, used, _ in detail:
        print(f"{label:<46}{wall:>9.0f}{'' if used is None else f'{used:.0f}':>9}")
    print("(cpu ms: a process's own CPU time; for the bare SQL the server process's)")
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load_before:.1f} before, "
        f"{load_after:.1f} after"
    )
    print(f"targets: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


def render_rows(report: Report, repeat: int) -> list[Row]:
    """Each format rendered in-process from the same report (matplotlib already imported)."""
    import matplotlib.figure  # noqa: F401  (its import is measured on its own)

    render_html(report)  # warm: fonts found, caches filled, as the process's preload does
    renderers: list[tuple[str, Callable[[], str]]] = [
        ("text", lambda: render_text(report)),
        (
            "json",
            lambda: json.dumps(
                {"format_version": "1", **report_json(report)}, indent=2, ensure_ascii=False
            ),
        ),
        ("markdown", lambda: render_markdown(report)),
        ("html", lambda: render_html(report)),
    ]
    rows: list[Row] = []
    for name, render in renderers:
        cpu_samples: list[float] = []

        def timed(
            _: int, render: Callable[[], str] = render, samples: list[float] = cpu_samples
        ) -> None:
            started = time.process_time()
            render()
            samples.append((time.process_time() - started) * 1000)

        wall = median_ms(repeat, timed)
        rows.append((f"  render {name}, in-process", wall, statistics.median(cpu_samples), None))
    return rows


if __name__ == "__main__":
    sys.exit(main())

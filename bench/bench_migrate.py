"""Migrate: `seqctl migrate` of 10,000 running instances of a 10-step template to a new
version with one step inserted, one removed and one delay changed.

Usage: python bench/bench_migrate.py [--instances 10000] [--steps 10]
                                     [--server postgresql://postgres@127.0.0.1:5432/postgres]

Creates its own database (dropped at the end), INSTANCES restaurants and three identical
STEPS-step templates, starts each template for every restaurant (`apply`, library), makes
half of the instances complete their first step, then edits the three templates alike
(a step inserted in the middle, one removed, one delay changed) and times, side by side:

- baseline: hand-written set-based SQL making the same task changes (update the kept
  pending tasks, cancel the removed step's, insert the new step's, update the instances);
- seqctl migrate through the library (`plan_migration` + `apply_migration`, one transaction);
- seqctl migrate as a command (`seqctl migrate --template … --yes`, a fresh process,
  printing its text preview of every instance).

It also counts the SQL statements of the library run for 100 and for INSTANCES instances
(they must be equal) and checks that the baseline and seqctl leave the same pending tasks.
Targets: the command ≤ 10 s and ≤ 3 × the baseline.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from benchdb import DEFAULT_SERVER, counted, temporary_database
from sqlalchemy import Connection, Engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seqctl.db.connection import make_engine  # noqa: E402
from seqctl.db.migrate import upgrade  # noqa: E402
from seqctl.runtime.apply import apply_template  # noqa: E402
from seqctl.runtime.context import runtime_context  # noqa: E402
from seqctl.runtime.lookup import Organisation  # noqa: E402
from seqctl.runtime.migrate_instances import apply_migration, plan_migration  # noqa: E402
from seqctl.runtime.progression import advance  # noqa: E402

TARGET_SECONDS = 10.0
TARGET_RATIO = 3.0
ORG = "0b000000-0000-0000-0000-000000000002"
ORGANISATION = Organisation(ORG, "Bench Foods")


def setup(conn: Connection, restaurants: int, steps: int, names: list[str]) -> list[str]:
    upgrade(conn, "head")
    conn.execute(
        text("INSERT INTO organisations (id, name) VALUES (:o, 'Bench Foods')"), {"o": ORG}
    )
    conn.execute(
        text(
            "INSERT INTO restaurants (organisation_id, name, city, contact_name)"
            " SELECT :o, 'Restaurant ' || g, 'Boston', 'Pat Jones' FROM generate_series(1, :n) g"
        ),
        {"o": ORG, "n": restaurants},
    )
    ids = []
    for name in names:
        template_id = conn.execute(
            text(
                "INSERT INTO sequence_templates (organisation_id, name, metadata) VALUES"
                " (:o, :n, jsonb_build_object('seqctl', jsonb_build_object('key', CAST(:n AS text),"
                " 'version', 1))) RETURNING id::text"
            ),
            {"o": ORG, "n": name},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO sequence_steps (sequence_template_id, step_order, name, type,"
                " priority, delay_value, delay_unit, custom_message)"
                " SELECT :t, g, 'Step ' || g, 'call', 'medium', 1, 'days',"
                " 'Hi {first_name}, step ' || g || ' for {restaurant_name}'"
                " FROM generate_series(1, :s) g"
            ),
            {"t": template_id, "s": steps},
        )
        ids.append(template_id)
    return ids


def edit_template(conn: Connection, template_id: str, steps: int) -> None:
    """Insert a step in the middle, remove step 8, change step 3's delay; version 2."""
    middle = steps // 2
    conn.execute(
        text("DELETE FROM sequence_steps WHERE sequence_template_id = :t AND step_order = :o"),
        {"t": template_id, "o": steps - 2},
    )
    conn.execute(
        text(
            "UPDATE sequence_steps SET step_order = step_order + 1000"
            " WHERE sequence_template_id = :t"
        ),
        {"t": template_id},
    )
    conn.execute(  # 1..N again, with room for the inserted step after the middle
        text(
            "UPDATE sequence_steps s SET step_order = n.rn + CASE WHEN n.rn > :m THEN 1 ELSE 0"
            " END FROM (SELECT id, row_number() OVER (ORDER BY step_order) AS rn"
            " FROM sequence_steps WHERE sequence_template_id = :t) n WHERE s.id = n.id"
        ),
        {"t": template_id, "m": middle},
    )
    conn.execute(
        text(
            "INSERT INTO sequence_steps (sequence_template_id, step_order, name, type, priority,"
            " delay_value, delay_unit, custom_message) VALUES (:t, :o, 'Inserted call', 'call',"
            " 'high', 2, 'days', 'New: call {restaurant_name}')"
        ),
        {"t": template_id, "o": middle + 1},
    )
    conn.execute(
        text(
            "UPDATE sequence_steps SET delay_value = 5 WHERE sequence_template_id = :t"
            " AND step_order = 3"
        ),
        {"t": template_id},
    )
    conn.execute(
        text(
            "UPDATE sequence_templates SET metadata = jsonb_set(metadata, '{seqctl,version}',"
            " '2') WHERE id = :t"
        ),
        {"t": template_id},
    )


BASELINE = [
    # kept and changed pending tasks: new position, fields and recorded delay
    """UPDATE tasks t SET sequence_step_order = s.step_order, name = s.name,
       priority = s.priority, message = s.custom_message,
       message_rendered = replace(replace(s.custom_message, '{restaurant_name}', r.name),
                                  '{first_name}', split_part(r.contact_name, ' ', 1)),
       metadata = jsonb_set(t.metadata, '{sequence}', (t.metadata -> 'sequence')
         || jsonb_build_object('step_order', s.step_order, 'delay_value', s.delay_value,
                               'delay_unit', s.delay_unit))
     FROM sequence_instances si, sequence_steps s, restaurants r
     WHERE si.sequence_template_id = :t AND si.status IN ('active', 'paused')
       AND t.sequence_instance_id = si.id AND t.status = 'pending' AND r.id = si.restaurant_id
       AND s.id = (t.metadata -> 'sequence' ->> 'step_id')::uuid
       AND (t.sequence_step_order, (t.metadata -> 'sequence' ->> 'delay_value')::int)
           IS DISTINCT FROM (s.step_order, s.delay_value)""",
    # pending tasks of removed steps
    """UPDATE tasks t SET status = 'cancelled', cancelled_at = now(),
       metadata = jsonb_set(t.metadata, '{sequence,removed_by_migration}', 'true')
     FROM sequence_instances si
     WHERE si.sequence_template_id = :t AND si.status IN ('active', 'paused')
       AND t.sequence_instance_id = si.id AND t.status IN ('pending', 'active')
       AND NOT EXISTS (SELECT 1 FROM sequence_steps s
                       WHERE s.id = (t.metadata -> 'sequence' ->> 'step_id')::uuid)""",
    # new steps after the position
    """INSERT INTO tasks (organisation_id, restaurant_id, name, type, status, priority, message,
       message_rendered, metadata, sequence_instance_id, sequence_step_order)
     SELECT si.organisation_id, si.restaurant_id, s.name, s.type, 'pending', s.priority,
       s.custom_message, replace(s.custom_message, '{restaurant_name}', r.name),
       jsonb_build_object('sequence', jsonb_build_object('step_id', s.id, 'step_order',
         s.step_order, 'delay_value', s.delay_value, 'delay_unit', s.delay_unit)),
       si.id, s.step_order
     FROM sequence_instances si JOIN restaurants r ON r.id = si.restaurant_id
     JOIN sequence_steps s ON s.sequence_template_id = si.sequence_template_id
     WHERE si.sequence_template_id = :t AND si.status IN ('active', 'paused')
       AND s.step_order > si.current_step_order
       AND NOT EXISTS (SELECT 1 FROM tasks e WHERE e.sequence_instance_id = si.id
                       AND e.metadata -> 'sequence' ->> 'step_id' = s.id::text)""",
    """UPDATE sequence_instances si SET total_steps = (SELECT count(*) FROM sequence_steps s
       WHERE s.sequence_template_id = si.sequence_template_id),
       metadata = si.metadata || '{"seqctl": {"template_version": 2}}'
     WHERE si.sequence_template_id = :t AND si.status IN ('active', 'paused')""",
]


def start(engine: Engine, template_id: str, names: list[str]) -> None:
    with engine.begin() as conn:
        apply_template(runtime_context(conn, ORGANISATION), template_id, names)
    with engine.begin() as conn:  # half of them complete step 1 (as the web app would),
        conn.execute(  # then `advance` moves them on, set-based
            text(
                "UPDATE tasks t SET status = 'completed', completed_at = now()"
                " FROM sequence_instances si JOIN restaurants r ON r.id = si.restaurant_id"
                " WHERE si.id = t.sequence_instance_id AND si.sequence_template_id = :t"
                " AND t.status = 'active' AND substring(r.name FROM '[0-9]+$')::int % 2 = 1"
            ),
            {"t": template_id},
        )
        advance(runtime_context(conn, ORGANISATION))


def count_statements(engine: Engine, template_id: str) -> tuple[int, float]:
    with counted(engine) as seen:
        started = time.perf_counter()
        with engine.begin() as conn:
            apply_migration(conn, plan_migration(conn, ORGANISATION, template_id))
        return len(seen), time.perf_counter() - started


def pending(conn: Connection, template_id: str) -> list[tuple[str, str, int, str]]:
    return [
        tuple(r)
        for r in conn.execute(
            text(
                "SELECT r.name, t.name, t.sequence_step_order, t.status FROM tasks t"
                " JOIN sequence_instances si ON si.id = t.sequence_instance_id"
                " JOIN restaurants r ON r.id = si.restaurant_id"
                " WHERE si.sequence_template_id = :t ORDER BY 1, 3, 2, 4"
            ),
            {"t": template_id},
        )
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--server", default=DEFAULT_SERVER)
    args = parser.parse_args()
    with temporary_database(args.server, "migrate") as url:
        return run(args, url)


def run(args: argparse.Namespace, url: str) -> int:
    engine = make_engine(url)
    names = [f"Restaurant {g}" for g in range(1, args.instances + 1)]
    try:
        with engine.begin() as conn:
            base_t, lib_t, cmd_t, small_t = setup(
                conn, args.instances, args.steps, ["bench-base", "bench-lib", "bench-cmd", "small"]
            )
        for template_id in (base_t, lib_t, cmd_t):
            start(engine, template_id, names)
        start(engine, small_t, names[:100])
        with engine.begin() as conn:
            for template_id in (base_t, lib_t, cmd_t, small_t):
                edit_template(conn, template_id, args.steps)
            conn.execute(text("ANALYZE"))

        started = time.perf_counter()
        with engine.begin() as conn:
            for statement in BASELINE:
                conn.execute(text(statement), {"t": base_t})
        baseline = time.perf_counter() - started

        small_statements, _ = count_statements(engine, small_t)
        statements, library = count_statements(engine, lib_t)

        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "seqctl", "--database-url", url, "migrate", "--template",
             "bench-cmd", "--yes"],
            check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        command = time.perf_counter() - started
        with engine.connect() as conn:
            same = pending(conn, base_t) == pending(conn, lib_t) == pending(conn, cmd_t)
    finally:
        engine.dispose()
    print(
        f"migrate {args.instances:,} running instances of a {args.steps}-step template "
        "(one step inserted, one removed, one delay changed; half of them past step 1)"
    )
    print(f"{'run':<46}{'seconds':>9}{'× baseline':>12}")
    for label, value in (
        ("baseline: hand-written set-based SQL", baseline),
        ("seqctl migrate (library, one transaction)", library),
        ("seqctl migrate --yes (process)", command),
    ):
        print(f"{label:<46}{value:>9.2f}{value / baseline:>12.2f}")
    checks = [
        (f"command ≤ {TARGET_SECONDS:.0f} s", f"{command:.2f} s", command <= TARGET_SECONDS),
        (
            f"command ≤ {TARGET_RATIO:.0f} × baseline",
            f"{command / baseline:.2f} ×",
            command <= TARGET_RATIO * baseline,
        ),
        (
            f"library ≤ {TARGET_RATIO:.0f} × baseline",
            f"{library / baseline:.2f} ×",
            library <= TARGET_RATIO * baseline,
        ),
        (
            "SQL statements independent of instances",
            f"{small_statements} for 100, {statements} for {args.instances:,}",
            statements == small_statements,
        ),
        ("baseline and seqctl leave the same tasks", str(same), same),
    ]
    print()
    print(f"{'target':<46}{'measured':>24}{'':>4}")
    for label, measured, met in checks:
        print(f"{label:<46}{measured:>24}  {'met' if met else 'NOT met'}")
    ok = all(met for _, _, met in checks)
    print(f"all targets: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

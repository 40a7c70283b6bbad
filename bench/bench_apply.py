"""Bulk start: `seqctl apply` of a 10-step template to 10,000 restaurants (100,000 tasks).

Usage: python bench/bench_apply.py [--restaurants 10000] [--steps 10] [--rounds 2]
                                   [--server postgresql://postgres@127.0.0.1:5432/postgres]

Creates its own database on the server (dropped at the end), loads RESTAURANTS restaurants
and a few identical STEPS-step templates, then times, ROUNDS times each, in this order:

- baseline: two hand-written INSERT … SELECT statements (instances, then tasks with the
  messages rendered by nested replace()) making the same rows as apply;
- seqctl apply through the library (`seqctl.runtime.apply.apply_template`, one transaction);
- seqctl apply as a command (`seqctl apply --restaurants-file …`, a fresh process).

- seqctl apply through the library of the same template with a business-hours schedule
  (§10: `timezone: restaurant`, weekdays, two windows, NZ holidays, business-day counting),
  the restaurants spread over 20 time zones (restaurants.metadata.timezone).

Each run starts a different template, so every run really creates RESTAURANTS instances
and RESTAURANTS × STEPS tasks. Targets: the command ≤ 10 s and ≤ 4 × the baseline; the
scheduled apply ≤ 1.5 × the unscheduled one (library).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchdb import DEFAULT_SERVER, temporary_database
from sqlalchemy import Connection, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seqctl.db.connection import make_engine  # noqa: E402
from seqctl.db.migrate import upgrade  # noqa: E402
from seqctl.runtime.apply import apply_template  # noqa: E402
from seqctl.runtime.context import runtime_context  # noqa: E402
from seqctl.runtime.lookup import Organisation  # noqa: E402

# the baseline's variables: the text columns its messages use (variable -> column)
BASELINE_COLUMNS = {
    "restaurant_name": "name",
    "restaurant_email": "email",
    "restaurant_phone": "phone",
    "restaurant_address": "address",
    "restaurant_website": "website",
    "city": "city",
    "contact_name": "contact_name",
    "contact_email": "contact_email",
    "contact_phone": "contact_phone",
    "cuisine": "cuisine",
}

TARGET_SECONDS = 10.0
TARGET_RATIO = 4.0
TARGET_SCHEDULED = 1.5
ZONES = [
    "Pacific/Auckland",
    "Australia/Sydney",
    "Asia/Tokyo",
    "Asia/Shanghai",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/Moscow",
    "Europe/Berlin",
    "Europe/London",
    "Atlantic/Azores",
    "America/Sao_Paulo",
    "America/Halifax",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "Africa/Johannesburg",
    "UTC",
]
SCHEDULE = {
    "timezone": "restaurant",
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "hours": "09:00-12:00, 14:30-17:00",
    "holidays": "NZ",
    "count": "business",
}
ORG = "0b000000-0000-0000-0000-000000000001"

MESSAGES = [
    "Hi {first_name}, this is the team at {organisation_name}. We would love to help "
    "{restaurant_name} in {city} grow its {cuisine} business. Call us back on {contact_phone}.",
    None,  # the message template's content
    "Reminder for {restaurant_name}: your demo is on {today}. Questions? {restaurant_email}",
    "Thanks {contact_name}! Your menu at {restaurant_website} looks great. {unknown_token}",
    None,  # the task template's default message
]


def setup(conn: Connection, restaurants: int, steps: int, templates: int) -> list[str]:
    upgrade(conn, "head")
    conn.execute(
        text("INSERT INTO organisations (id, name) VALUES (:o, 'Bench Foods')"), {"o": ORG}
    )
    conn.execute(
        text(
            "INSERT INTO restaurants (organisation_id, name, email, phone, address, city, website,"
            " cuisine, contact_name, contact_email, contact_phone) SELECT :o, 'Restaurant ' || g,"
            " 'hello' || g || '@r.example', '+1 555 ' || g, g || ' Main St',"
            " (ARRAY['Boston','Austin','Denver','Miami'])[1 + g % 4], 'https://r' || g ||"
            " '.example',"
            " ARRAY[(ARRAY['Italian','Thai','Cuban','Indian','American'])[1 + g % 5]],"
            " 'Pat' || g || ' Jones', 'pat' || g || '@r.example',"
            " CASE WHEN g % 3 = 0 THEN NULL ELSE '+1 555 01' || g END"
            " FROM generate_series(1, :n) g"
        ),
        {"o": ORG, "n": restaurants},
    )
    conn.execute(  # 20 time zones, for the scheduled template
        text(
            "UPDATE restaurants SET metadata = jsonb_build_object('timezone',"
            " (CAST(:zones AS text[]))[1 + (abs(hashtext(name)) % 20)])"
        ),
        {"zones": ZONES},
    )
    message_template = conn.execute(
        text(
            "INSERT INTO message_templates (organisation_id, name, type, message_content)"
            " VALUES (:o, 'Welcome', 'email',"
            " 'Welcome {first_name}! {restaurant_name} is now part of {organisation_name}"
            " ({current_year}).') RETURNING id"
        ),
        {"o": ORG},
    ).scalar_one()
    task_template = conn.execute(
        text(
            "INSERT INTO task_templates (organisation_id, name, type, default_message) VALUES (:o,"
            " 'Check-in', 'call', 'How is everything at {restaurant_name}, {first_name}?')"
            " RETURNING id"
        ),
        {"o": ORG},
    ).scalar_one()
    ids = []
    for number in range(templates):
        template_id = conn.execute(
            text(
                "INSERT INTO sequence_templates (organisation_id, name, metadata) VALUES (:o, :n,"
                " jsonb_build_object('seqctl', jsonb_build_object('key', CAST(:k AS text))"
                " || CASE WHEN :scheduled THEN jsonb_build_object('schedule', CAST(:s AS jsonb))"
                " ELSE '{}'::jsonb END)) RETURNING id::text"
            ),
            {
                "o": ORG,
                "n": f"Bench template {number}",
                "k": f"bench-{number}",
                "scheduled": number % 4 == 3,  # every fourth: see run()
                "s": json.dumps(SCHEDULE),
            },
        ).scalar_one()
        rows = [
            {
                "order": i + 1,
                "message": MESSAGES[i % len(MESSAGES)],
                "mt": str(message_template) if i % len(MESSAGES) == 1 else None,
                "tt": str(task_template) if i % len(MESSAGES) == 4 else None,
                "unit": ("minutes", "hours", "days")[i % 3],
            }
            for i in range(steps)
        ]
        conn.execute(
            text(
                "INSERT INTO sequence_steps (sequence_template_id, step_order, name, description,"
                " type, priority, delay_value, delay_unit, custom_message, message_template_id,"
                " task_template_id) SELECT :t, s.order, 'Step ' || s.order, 'Generated step',"
                " 'call', 'medium', s.order, s.unit, s.message, s.mt, s.tt"
                " FROM jsonb_to_recordset(CAST(:rows AS jsonb))"
                ' AS s("order" int, message text, mt uuid, tt uuid, unit text)'
            ),
            {"t": template_id, "rows": json.dumps(rows)},
        )
        ids.append(template_id)
    conn.execute(text("ANALYZE"))
    return ids


def rendered_sql(message: str) -> str:
    """Nested replace() of every variable (the baseline's rendering)."""
    values = {
        v: f"COALESCE(array_to_string(r.{c}, ', '), '')"
        if c == "cuisine"
        else f"COALESCE(r.{c}, '')"
        for v, c in BASELINE_COLUMNS.items()
    }
    values.update(
        {
            "first_name": "COALESCE((regexp_split_to_array(btrim(r.contact_name), '\\s+'))[1], '')",
            "organisation_name": "COALESCE(r.organisation_name, '')",  # the restaurant's company
            "today": "to_char(now(), 'FMDD/MM/YYYY')",  # en-NZ, as the application writes it
            "current_year": "to_char(now(), 'YYYY')",
        }
    )
    for variable, value in values.items():
        message = f"replace({message}, '{{{variable}}}', {value})"
    return message


def baseline(conn: Connection, template_id: str) -> None:
    conn.execute(
        text(
            "INSERT INTO sequence_instances (sequence_template_id, restaurant_id, organisation_id,"
            " name, status, current_step_order, total_steps, started_at)"
            " SELECT t.id, r.id, r.organisation_id, t.name || ' - ' || r.name || ' - '"
            " || to_char(now(), 'YYYY-MM-DD'), 'active', 1,"
            " (SELECT count(*) FROM sequence_steps s WHERE s.sequence_template_id = t.id), now()"
            " FROM restaurants r JOIN sequence_templates t ON t.id = :t"
            " WHERE r.organisation_id = :o"
        ),
        {"t": template_id, "o": ORG},
    )
    conn.execute(
        text(
            "INSERT INTO tasks (organisation_id, restaurant_id, task_template_id,"
            " message_template_id, name, description, type, status, priority, message,"
            " message_rendered, due_date, metadata, sequence_instance_id, sequence_step_order)"
            " SELECT si.organisation_id, si.restaurant_id, s.task_template_id,"
            " s.message_template_id, s.name, s.description, s.type,"
            " CASE WHEN s.step_order = 1 THEN 'active' ELSE 'pending' END, s.priority, m.msg, "
            + rendered_sql("m.msg")
            + ", CASE WHEN s.step_order = 1 THEN now() + make_interval("
            " days => CASE WHEN s.delay_unit = 'days' THEN s.delay_value ELSE 0 END,"
            " hours => CASE WHEN s.delay_unit = 'hours' THEN s.delay_value ELSE 0 END,"
            " mins => CASE WHEN s.delay_unit = 'minutes' THEN s.delay_value ELSE 0 END) END,"
            " jsonb_build_object('sequence', jsonb_build_object('template_id',"
            " si.sequence_template_id,"
            " 'step_id', s.id, 'step_order', s.step_order, 'delay_value', s.delay_value,"
            " 'delay_unit', s.delay_unit) || CASE WHEN s.step_order = 1 THEN"
            " jsonb_build_object('activated_at', to_jsonb(now())) ELSE '{}' END), si.id,"
            " s.step_order"
            " FROM sequence_instances si JOIN restaurants r ON r.id = si.restaurant_id"
            " JOIN organisations o ON o.id = si.organisation_id"
            " JOIN sequence_steps s ON s.sequence_template_id = si.sequence_template_id"
            " LEFT JOIN message_templates mt ON mt.id = s.message_template_id"
            " LEFT JOIN task_templates tt ON tt.id = s.task_template_id"
            " CROSS JOIN LATERAL (SELECT COALESCE(NULLIF(mt.message_content, ''),"
            " NULLIF(s.custom_message, ''), tt.default_message) AS msg) m"
            " WHERE si.sequence_template_id = :t"
        ),
        {"t": template_id},
    )


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restaurants", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--server", default=DEFAULT_SERVER)
    args = parser.parse_args()
    with temporary_database(args.server, "apply") as url:
        return run(args, url)


def run(args: argparse.Namespace, url: str) -> int:
    engine = make_engine(url)
    results: dict[str, list[float]] = {
        "baseline": [],
        "library": [],
        "command": [],
        "scheduled": [],
    }
    try:
        with engine.begin() as conn:
            templates = setup(conn, args.restaurants, args.steps, 4 * args.rounds)
        with tempfile.TemporaryDirectory() as tmp:
            listing = Path(tmp) / "restaurants.txt"
            listing.write_text("\n".join(f"Restaurant {g}" for g in range(1, args.restaurants + 1)))
            names = [f"Restaurant {g}" for g in range(1, args.restaurants + 1)]

            def run_baseline(template_id: str) -> None:
                with engine.begin() as conn:
                    baseline(conn, template_id)

            def run_library(template_id: str) -> None:
                with engine.begin() as conn:
                    report = apply_template(
                        runtime_context(conn, Organisation(ORG, "Bench Foods")), template_id, names
                    )
                assert report.count("started") == args.restaurants

            def run_command(template_id: str) -> None:
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "seqctl",
                        "--database-url",
                        url,
                        "apply",
                        "-t",
                        template_id,
                        "--restaurants-file",
                        str(listing),
                        "--format",
                        "json",
                    ],
                    check=True,
                    stdout=subprocess.DEVNULL,
                )

            for round_ in range(args.rounds):
                base_t, lib_t, cmd_t, sched_t = templates[4 * round_ : 4 * round_ + 4]
                results["baseline"].append(timed(lambda: run_baseline(base_t)))  # noqa: B023
                results["library"].append(timed(lambda: run_library(lib_t)))  # noqa: B023
                results["command"].append(timed(lambda: run_command(cmd_t)))  # noqa: B023
                results["scheduled"].append(timed(lambda: run_library(sched_t)))  # noqa: B023
        with engine.connect() as conn:
            tasks = conn.execute(text("SELECT count(*) FROM tasks")).scalar_one()
            mismatches = conn.execute(
                text(
                    "SELECT count(*) FROM tasks a JOIN sequence_instances ia"
                    " ON ia.id = a.sequence_instance_id AND ia.sequence_template_id = :base"
                    " FULL JOIN (SELECT b.* FROM tasks b JOIN sequence_instances ib"
                    " ON ib.id = b.sequence_instance_id AND ib.sequence_template_id = :lib) b"
                    " ON b.restaurant_id = a.restaurant_id"
                    " AND b.sequence_step_order = a.sequence_step_order"
                    " WHERE (a.name, a.description, a.type, a.status, a.priority, a.message,"
                    " a.message_rendered, a.due_date IS NULL, a.metadata #-"
                    " '{sequence,template_id}' #- '{sequence,activated_at}'"
                    " #- '{sequence,step_id}') IS DISTINCT FROM (b.name, b.description, b.type,"
                    " b.status, b.priority, b.message, b.message_rendered, b.due_date IS NULL,"
                    " b.metadata #- '{sequence,template_id}' #- '{sequence,activated_at}'"
                    " #- '{sequence,step_id}')"
                ),
                {"base": templates[0], "lib": templates[1]},
            ).scalar_one()
    finally:
        engine.dispose()
    expected = 4 * args.rounds * args.restaurants * args.steps
    assert tasks == expected, (tasks, expected)
    base = statistics.median(results["baseline"])
    print(
        f"apply a {args.steps}-step template to {args.restaurants:,} restaurants "
        f"({args.restaurants * args.steps:,} tasks), {args.rounds} round(s), median seconds"
    )
    print(f"{'run':<44}{'seconds':>9}{'× baseline':>12}")
    labels = {
        "baseline": "baseline: hand-written INSERT … SELECT",
        "library": "seqctl apply (library, one transaction)",
        "command": "seqctl apply --restaurants-file (process)",
        "scheduled": "seqctl apply, scheduled, 20 zones (library)",
    }
    for key, label in labels.items():
        value = statistics.median(results[key])
        print(f"{label:<44}{value:>9.2f}{value / base:>12.2f}")
    command = statistics.median(results["command"])
    ok = command <= TARGET_SECONDS and command <= TARGET_RATIO * base and mismatches == 0
    scheduled = statistics.median(results["scheduled"]) / statistics.median(results["library"])
    ok = ok and scheduled <= TARGET_SCHEDULED
    print(f"tasks of the baseline and of apply that differ: {mismatches}")
    print(f"scheduled / unscheduled apply (library): {scheduled:.2f} (target ≤ {TARGET_SCHEDULED})")
    print(
        f"target: command ≤ {TARGET_SECONDS:.0f} s and ≤ {TARGET_RATIO:.0f} × baseline: "
        f"{'met' if ok else 'NOT met'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

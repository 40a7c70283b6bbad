"""The whole CLI on the application's own Supabase schema, under its real RLS policies (issue 15).

Two states of the application's database (see conftest): before its sequence system, and
with its own sequence tables holding a template, an instance and tasks made by the web app.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ..conftest import Result
from ..db import catalog
from .conftest import (
    BURGER_BARN,
    JO,
    REP,
    RIVAL,
    WEB_INSTANCE,
    WEB_TASKS,
    WEB_TEMPLATE,
    data_dump,
    schema_dump,
)

Cli = Callable[..., Result]

TEMPLATE = """\
key: app-onboarding
name: App Onboarding
steps:
  - name: Intro call
    type: call
    task_template: Intro call
  - name: Follow-up email
    type: email
    message_template: Demo follow-up
    delay_value: 2
    delay_unit: hours
  - name: Check in
    type: internal_activity
    custom_message: "Check {restaurant_name}"
    delay_value: 1
"""


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def runner(cli: Cli, url: str) -> Callable[..., Result]:
    def run(*args: str) -> Result:
        return cli("--database-url", url, *args)

    return run


def rows(url: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    return catalog.rows(url, sql, params)


# --- before the sequence system ----------------------------------------------------------


def test_upgrade_then_downgrade_base_leaves_the_application_exactly_as_before(
    app_before_url: str, cli: Cli
) -> None:
    run = runner(cli, app_before_url)
    schema, data = schema_dump(app_before_url), data_dump(app_before_url)
    ok(run("db", "upgrade", "--yes"))
    assert ok(run("db", "current")).stdout.strip() == "005 (head)"
    after_upgrade = schema_dump(app_before_url)
    assert "CREATE TABLE public.sequence_steps" in after_upgrade
    # seqctl created no CRM table, policy or grant of its own on the application's schema
    assert "seqctl_user_organisation_ids" not in after_upgrade
    ok(run("db", "downgrade", "base"))
    assert schema_dump(app_before_url) == schema
    assert data_dump(app_before_url) == data


def test_the_cli_on_the_application_schema_under_its_rls(
    app_before_url: str, cli: Cli, tmp_path: Path
) -> None:
    run = runner(cli, app_before_url)
    ok(run("db", "upgrade", "--yes"))
    files = tmp_path / "sequences"
    files.mkdir()
    (files / "app-onboarding.yaml").write_text(TEMPLATE, encoding="utf-8")
    # "Demo follow-up" exists twice, once inactive: the active one is meant, no ambiguity
    ok(run("--org", "Pumpd Sales", "--as-user", REP, "sync", str(files)))
    assert rows(
        app_before_url,
        "SELECT message_template_id::text FROM sequence_steps WHERE name = 'Follow-up email'",
    ) == [("a0000000-0000-4000-8000-0000000000d1",)]
    # a user of another organisation reaches nothing of Pumpd Sales under the app's RLS
    refused = run(
        "--org",
        "Pumpd Sales",
        "--as-user",
        RIVAL,
        "apply",
        "-t",
        "app-onboarding",
        "-r",
        "Burger Barn",
    )
    assert refused.exit_code != 0 and "Traceback" not in refused.stderr
    assert rows(app_before_url, "SELECT count(*) FROM sequence_instances") == [(0,)]
    started = ok(
        run(
            "--org",
            "Pumpd Sales",
            "--as-user",
            JO,
            "apply",
            "-t",
            "app-onboarding",
            "-r",
            "Burger Barn",
            "-r",
            "Noodle Nook",
            "--format",
            "json",
        )
    )
    assert "started" in started.stdout
    tasks = rows(
        app_before_url,
        "SELECT t.sequence_step_order, t.status, t.message_rendered, t.id::text FROM tasks t "
        "WHERE t.restaurant_id = %s AND t.sequence_instance_id IS NOT NULL "
        "ORDER BY t.sequence_step_order",
        (BURGER_BARN,),
    )
    assert [t[:2] for t in tasks] == [(1, "active"), (2, "pending"), (3, "pending")]
    # the message of the web app's message template (its message_content)
    assert tasks[1][2] == "Hi Sam Smith, thanks for booking a demo for Burger Barn in Auckland."
    status = ok(run("--org", "Pumpd Sales", "--as-user", JO, "status", "--format", "json"))
    assert "App Onboarding" in status.stdout
    ok(run("--org", "Pumpd Sales", "--as-user", JO, "task", "complete", tasks[0][3]))
    assert rows(app_before_url, "SELECT status FROM tasks WHERE id = %s", (tasks[1][3],)) == [
        ("active",)
    ]
    instance = rows(
        app_before_url,
        "SELECT id::text FROM sequence_instances WHERE restaurant_id = %s",
        (BURGER_BARN,),
    )[0][0]
    ok(run("--org", "Pumpd Sales", "--as-user", JO, "pause", instance))
    ok(run("--org", "Pumpd Sales", "--as-user", JO, "resume", instance))
    ok(run("--org", "Pumpd Sales", "--as-user", JO, "cancel", instance))
    assert rows(
        app_before_url, "SELECT status FROM sequence_instances WHERE id = %s", (instance,)
    ) == [("cancelled",)]
    ok(run("--org", "Pumpd Sales", "--as-user", JO, "advance"))
    # the web app's own rows are untouched
    assert rows(
        app_before_url,
        "SELECT name, status FROM tasks WHERE sequence_instance_id IS NULL ORDER BY name",
    ) == [("Standalone web task", "pending")]


# --- with the application's own sequence tables -------------------------------------------


def test_upgrade_adopts_the_application_sequence_tables_without_touching_a_row(
    app_sequences_url: str, cli: Cli
) -> None:
    run = runner(cli, app_sequences_url)
    data = data_dump(app_sequences_url)
    result = ok(run("db", "upgrade", "--yes"))
    assert "adopted the existing sequence tables at revision 005" in result.stderr
    assert "0 difference(s) from the design" in result.stderr
    assert "applied: trigger tasks_clear_sequence_step_order" in result.stderr
    assert ok(run("db", "current")).stdout.strip() == "005 (head)"
    assert data_dump(app_sequences_url) == data
    assert "tasks_clear_sequence_step_order" in catalog.triggers(app_sequences_url)
    # running it again changes nothing
    again = ok(run("db", "upgrade", "--yes"))
    assert "adopted" not in again.stderr and "already at revision 005" in again.stderr


def test_adoption_lists_differences(app_sequences_url: str, cli: Cli) -> None:
    with psycopg.connect(app_sequences_url) as conn:
        conn.execute("DROP INDEX idx_sequence_steps_template")
        conn.execute("DROP POLICY sequence_steps_insert_policy ON sequence_steps")
        conn.execute("ALTER TABLE sequence_templates ADD COLUMN colour text")
    result = ok(runner(cli, app_sequences_url)("db", "upgrade", "--yes"))
    assert "3 difference(s) from the design:" in result.stderr
    assert "index idx_sequence_steps_template is missing" in result.stderr
    assert "policy sequence_steps_insert_policy on sequence_steps is missing" in result.stderr
    assert "extra column sequence_templates.colour (left alone)" in result.stderr
    # listed, not "fixed": the application's objects are left as they are
    assert "idx_sequence_steps_template" not in catalog.indexes(app_sequences_url)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            "ALTER TABLE sequence_instances RENAME COLUMN total_steps TO steps_total",
            "column sequence_instances.total_steps (integer) is missing",
        ),
        (
            "ALTER TABLE sequence_steps ALTER COLUMN delay_value TYPE bigint",
            "column sequence_steps.delay_value is bigint, seqctl needs integer",
        ),
        (
            "ALTER TABLE sequence_steps DROP CONSTRAINT sequence_steps_type_check; "
            "UPDATE sequence_steps SET type = 'fax' WHERE step_order = 3",
            "1 sequence step(s) have type 'fax'",
        ),
        ("DROP TABLE sequence_instances CASCADE", "table public.sequence_instances is missing"),
    ],
)
def test_adoption_refuses_what_seqctl_cannot_use_and_changes_nothing(
    app_sequences_url: str, cli: Cli, change: str, reason: str
) -> None:
    with psycopg.connect(app_sequences_url) as conn:
        conn.execute(change)  # type: ignore[arg-type]
    schema, data = schema_dump(app_sequences_url), data_dump(app_sequences_url)
    result = runner(cli, app_sequences_url)("db", "upgrade", "--yes")
    assert result.exit_code == 1
    assert "cannot adopt the existing sequence tables; nothing was changed" in result.stderr
    assert reason in result.stderr
    assert "Traceback" not in result.stderr
    assert schema_dump(app_sequences_url) == schema
    assert data_dump(app_sequences_url) == data
    assert ok(runner(cli, app_sequences_url)("db", "current")).stdout.strip() == "base"


def test_web_app_instance_progresses_with_seqctl(app_sequences_url: str, cli: Cli) -> None:
    run = runner(cli, app_sequences_url)
    ok(run("db", "upgrade", "--yes"))
    org = ("--org", "Pumpd Sales", "--as-user", REP)
    ok(run(*org, "task", "complete", WEB_TASKS[0]))
    task_rows = rows(
        app_sequences_url,
        "SELECT status, due_date - (SELECT completed_at FROM tasks WHERE id = %s) "
        "FROM tasks WHERE sequence_instance_id = %s ORDER BY sequence_step_order",
        (WEB_TASKS[0], WEB_INSTANCE),
    )
    assert [r[0] for r in task_rows] == ["completed", "active", "pending"]
    assert str(task_rows[1][1]) == "2:00:00"  # the step's delay: 2 hours
    # the web app completes the next task itself; advance moves the instance on
    with psycopg.connect(app_sequences_url) as conn:
        conn.execute(
            "UPDATE tasks SET status = 'completed', completed_at = now() WHERE id = %s",
            (WEB_TASKS[1],),
        )
    ok(run(*org, "advance"))
    assert rows(
        app_sequences_url,
        "SELECT current_step_order, status FROM sequence_instances WHERE id = %s",
        (WEB_INSTANCE,),
    ) == [(3, "active")]
    detail = ok(run(*org, "status", WEB_INSTANCE, "--format", "json"))
    assert "Demo meeting" in detail.stdout
    ok(run(*org, "finish", WEB_INSTANCE))
    # deleting the instance (as the web app may) keeps its tasks, unlinked: the trigger
    with psycopg.connect(app_sequences_url) as conn:
        conn.execute("DELETE FROM sequence_instances WHERE id = %s", (WEB_INSTANCE,))
    assert rows(
        app_sequences_url,
        "SELECT count(*) FROM tasks WHERE id = ANY(%s) AND sequence_step_order IS NULL",
        (list(WEB_TASKS),),
    ) == [(3,)]


def test_apply_of_a_web_app_template_and_rls(app_sequences_url: str, cli: Cli) -> None:
    run = runner(cli, app_sequences_url)
    ok(run("db", "upgrade", "--yes"))
    result = ok(
        run(
            "--org",
            "Pumpd Sales",
            "--as-user",
            JO,
            "apply",
            "-t",
            WEB_TEMPLATE,
            "-r",
            "Noodle Nook",
            "--format",
            "json",
        )
    )
    assert json.loads(result.stdout)["format_version"] == "1"
    assert rows(
        app_sequences_url,
        "SELECT type FROM tasks t JOIN sequence_instances si ON si.id = t.sequence_instance_id "
        "WHERE si.restaurant_id <> %s ORDER BY t.sequence_step_order",
        (BURGER_BARN,),
    ) == [("call",), ("email",), ("demo_meeting",)]
    # the rival organisation sees none of it
    rival = run("--org", "Rival Co", "--as-user", RIVAL, "status", "--format", "json")
    assert "Web Demo Flow" not in rival.stdout


def _export_validate(run: Callable[..., Result], out: Path) -> Result:
    ok(run("--org", "Pumpd Sales", "export", "--out", str(out)))
    return run("validate", str(out))


def test_export_validate_round_trip_of_a_web_app_template(
    app_sequences_url: str, cli: Cli, tmp_path: Path
) -> None:
    run = runner(cli, app_sequences_url)
    ok(run("db", "upgrade", "--yes"))
    with psycopg.connect(app_sequences_url) as conn:  # no demo_meeting, no subject line
        conn.execute(
            "UPDATE sequence_steps SET type = 'call', subject_line = NULL "
            "WHERE sequence_template_id = %s",
            (WEB_TEMPLATE,),
        )
    ok(_export_validate(run, tmp_path / "out"))
    exported = (tmp_path / "out" / "web-demo-flow.yaml").read_text(encoding="utf-8")
    # the inactive namesake does not stop the message template being written by name
    assert "message_template: Demo follow-up" in exported
    # brought under git: adopted by sync, then plan shows no changes
    org = ("--org", "Pumpd Sales")
    ok(run(*org, "sync", "--adopt", str(tmp_path / "out")))
    plan = run(*org, "plan", "--detailed-exitcode", str(tmp_path / "out"))
    assert plan.exit_code == 0, plan.stdout + plan.stderr


def test_export_validate_round_trip_with_demo_meeting_and_subject_lines(
    app_sequences_url: str, cli: Cli, tmp_path: Path
) -> None:
    run = runner(cli, app_sequences_url)
    ok(run("db", "upgrade", "--yes"))
    ok(_export_validate(run, tmp_path / "out"))
    exported = (tmp_path / "out" / "web-demo-flow.yaml").read_text(encoding="utf-8")
    assert "type: demo_meeting" in exported
    assert "subject_line: Following up, {restaurant_name}" in exported


def test_downgrade_base_after_adoption_leaves_the_application_exactly_as_before(
    app_sequences_url: str, cli: Cli
) -> None:
    run = runner(cli, app_sequences_url)
    schema, data = schema_dump(app_sequences_url), data_dump(app_sequences_url)
    ok(run("db", "upgrade", "--yes"))
    refused = run("db", "downgrade", "003")
    assert refused.exit_code == 1 and "adopted at revision 005" in refused.stderr
    ok(run("db", "downgrade", "base"))
    assert schema_dump(app_sequences_url) == schema
    assert data_dump(app_sequences_url) == data
    assert ok(run("db", "current")).stdout.strip() == "base"
    # and it can be adopted again
    ok(run("db", "upgrade", "--yes"))


def test_demo_seeds_the_application_schema(app_before_url: str, cli: Cli) -> None:
    run = runner(cli, app_before_url)
    ok(run("db", "upgrade", "--yes"))
    ok(run("demo"))
    assert rows(
        app_before_url,
        "SELECT p.name, p.role FROM profiles p JOIN organisations o ON o.id = p.organisation_id "
        "WHERE o.name = 'Demo Restaurant Group' ORDER BY p.name",
    ) == [("Alex Morgan", "admin"), ("Sam Patel", "user")]
    assert rows(
        app_before_url, "SELECT cuisine FROM restaurants WHERE name = 'Luigi''s Trattoria'"
    ) == [(["Italian"],)]
    ok(run("demo"))  # idempotent


def test_adoption_before_the_applications_20251122_change(app_sequences_url: str, cli: Cli) -> None:
    """Tables as the application had them before its subject_line/demo_meeting migration:
    adopted at 004, then revision 005 applied; downgrade base takes back only that."""
    url = app_sequences_url
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE sequence_steps SET type = 'call' WHERE type = 'demo_meeting'")
        conn.execute("ALTER TABLE sequence_steps DROP COLUMN subject_line")
        conn.execute(
            "ALTER TABLE sequence_steps DROP CONSTRAINT sequence_steps_type_check, "
            "ADD CONSTRAINT sequence_steps_type_check CHECK "
            "(type IN ('internal_activity', 'social_message', 'text', 'email', 'call'))"
        )
    schema, data = schema_dump(url), data_dump(url)
    run = runner(cli, url)
    result = ok(run("db", "upgrade", "--yes"))
    assert "adopted the existing sequence tables at revision 004" in result.stderr
    assert "004 -> 005" in result.stderr
    assert "subject_line" in {c[0] for c in catalog.columns(url, "sequence_steps")}
    ok(run("db", "downgrade", "base"))  # no row was touched: every row is as it was
    assert schema_dump(url) == schema
    assert data_dump(url) == data

"""Revision 005 and declared variables end to end: `demo_meeting` steps and subject lines
through validate, plan, sync and export; variables.yaml stored, diffed and exported."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import yaml
from sqlalchemy import Engine, text

from .sync_helpers import Run, ok

TEMPLATE = """\
key: demo-booking
name: Demo booking
steps:
  - name: Book the demo
    type: demo_meeting
  - name: Confirm by email
    type: email
    subject_line: "Your demo, {first_name}"
    custom_message: "See {ordering_url}"
"""
VARIABLES = """\
variables:
  ordering_url:
    template: "https://{subdomain}.pumpd.co.nz"
"""


def _steps(engine: Engine, key: str) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                text(
                    "SELECT s.step_order, s.type, s.subject_line FROM sequence_steps s"
                    " JOIN sequence_templates t ON t.id = s.sequence_template_id"
                    " WHERE t.metadata -> 'seqctl' ->> 'key' = :k ORDER BY s.step_order"
                ),
                {"k": key},
            ).mappings()
        ]


def _stored_variables(engine: Engine, key: str) -> object:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT metadata -> 'seqctl' -> 'variables' FROM sequence_templates"
                " WHERE metadata -> 'seqctl' ->> 'key' = :k"
            ),
            {"k": key},
        ).scalar()


def _write(files: dict[str, str]) -> None:
    for name, content in files.items():
        path = Path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


def test_sync_writes_demo_meeting_subject_lines_and_variables(run: Run, engine: Engine) -> None:
    _write(
        {".git/HEAD": "", "sequences/demo.yaml": TEMPLATE, "sequences/variables.yaml": VARIABLES}
    )
    ok(run("validate", "sequences"))
    ok(run("sync", "sequences"))
    assert _steps(engine, "demo-booking") == [
        {"step_order": 1, "type": "demo_meeting", "subject_line": None},
        {"step_order": 2, "type": "email", "subject_line": "Your demo, {first_name}"},
    ]
    assert _stored_variables(engine, "demo-booking") == {
        "ordering_url": {"template": "https://{subdomain}.pumpd.co.nz"}
    }
    ok(run("plan", "sequences", "--detailed-exitcode"))  # a second plan: no changes

    # a changed subject line and a changed declaration show field by field
    Path("sequences/demo.yaml").write_text(
        TEMPLATE.replace("Your demo,", "Our demo,"), encoding="utf-8"
    )
    Path("sequences/variables.yaml").write_text(
        VARIABLES.replace("pumpd.co.nz", "pumpd.nz") + "  admin_url: https://admin\n",
        encoding="utf-8",
    )
    plan = json.loads(
        ok(run("plan", "sequences", "--format", "json", "--detailed-exitcode"), 2).stdout
    )
    [change] = plan["changes"]
    fields = {f["field"]: (f["old"], f["new"]) for f in change["fields"]}
    assert fields == {
        "variables.admin_url": (None, "https://admin"),
        "variables.ordering_url": (
            {"template": "https://{subdomain}.pumpd.co.nz"},
            {"template": "https://{subdomain}.pumpd.nz"},
        ),
    }
    [step] = change["steps"]
    assert step["fields"] == [
        {"field": "subject_line", "old": "Your demo, {first_name}", "new": "Our demo, {first_name}"}
    ]
    assert not change["drift"]
    ok(run("sync", "sequences"))
    assert _steps(engine, "demo-booking")[1]["subject_line"] == "Our demo, {first_name}"
    ok(run("plan", "sequences", "--detailed-exitcode"))


def test_export_round_trip_of_web_app_templates_with_demo_meeting_and_subjects(
    run: Run, engine: Engine, demo_org: str
) -> None:
    template_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sequence_templates (id, organisation_id, name)"
                " VALUES (:id, :o, 'Demo')"
            ),
            {"id": template_id, "o": demo_org},
        )
        conn.execute(
            text(
                "INSERT INTO sequence_steps (sequence_template_id, step_order, name, type,"
                " subject_line, custom_message) VALUES"
                " (:t, 1, 'Demo meeting', 'demo_meeting', NULL, NULL),"
                " (:t, 2, 'Recap email', 'email', 'Recap for {restaurant_name}', 'Thanks!'),"
                " (:t, 3, 'Call back', 'call', 'kept from an email step', NULL)"
            ),
            {"t": template_id},
        )
    ok(run("export", "--out", "exported"))
    document = yaml.safe_load(Path("exported/demo.yaml").read_text(encoding="utf-8"))
    assert document["steps"] == [
        {"name": "Demo meeting", "type": "demo_meeting"},
        {
            "name": "Recap email",
            "type": "email",
            "custom_message": "Thanks!",
            "subject_line": "Recap for {restaurant_name}",
        },
        {"name": "Call back", "type": "call", "subject_line": "kept from an email step"},
    ]
    validated = ok(run("validate", "exported"))
    assert "only email tasks get a subject" in validated.stdout + validated.stderr
    ok(run("sync", "--adopt", "exported"))
    ok(run("plan", "exported", "--detailed-exitcode"))
    assert [s["type"] for s in _steps(engine, "demo")] == ["demo_meeting", "email", "call"]


def test_export_writes_the_declared_variables(run: Run, engine: Engine) -> None:
    _write(
        {".git/HEAD": "", "sequences/demo.yaml": TEMPLATE, "sequences/variables.yaml": VARIABLES}
    )
    ok(run("sync", "sequences"))
    ok(run("export", "--out", "exported"))
    exported = yaml.safe_load(Path("exported/variables.yaml").read_text(encoding="utf-8"))
    assert exported == yaml.safe_load(VARIABLES)
    ok(run("validate", "exported"))
    plan = json.loads(ok(run("plan", "exported", "--format", "json")).stdout)
    # only the file moved: the declarations and the steps read back equal
    assert [
        (c["kind"], [f["field"] for f in c["fields"]], c["steps"]) for c in plan["changes"]
    ] == [("update", ["source"], [])]


def test_plan_names_a_variable_whose_column_the_database_lacks(run: Run, engine: Engine) -> None:
    _write(
        {".git/HEAD": "", "sequences/demo.yaml": TEMPLATE, "sequences/variables.yaml": VARIABLES}
    )
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE restaurants DROP COLUMN subdomain"))
    result = ok(run("plan", "sequences"))
    assert (
        "$.steps[1].custom_message: {subdomain} renders empty: the restaurants table has no "
        "column subdomain"
    ) in result.stderr


def test_apply_dry_run_shows_subjects_and_missing_columns(run: Run, engine: Engine) -> None:
    _write(
        {
            ".git/HEAD": "",
            "sequences/mail.yaml": (
                "name: Mail flow\nsteps:\n  - name: First mail\n    type: email\n"
                "    subject_line: 'Hi {first_name}'\n    custom_message: 'AOV {uber_aov}.'\n"
            ),
        }
    )
    ok(run("sync", "sequences"))
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE restaurants DROP COLUMN uber_aov"))
    result = ok(run("apply", "-t", "mail", "-r", "Luigi's Trattoria", "--dry-run"))
    assert "subject: Hi Luigi" in result.stdout
    assert "| AOV ." in result.stdout
    assert (
        "{uber_aov} renders empty for every restaurant: the restaurants table has no column "
        "uber_aov" in result.stdout
    )
    document = json.loads(
        ok(
            run("apply", "-t", "mail", "-r", "Luigi's Trattoria", "--dry-run", "--format", "json")
        ).stdout
    )
    assert document["missing_columns"] == {"uber_aov": "uber_aov"}
    [task] = document["instances"][0]["tasks"]
    assert (task["subject_line"], task["subject_line_rendered"]) == ("Hi {first_name}", "Hi Luigi")

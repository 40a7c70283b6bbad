"""Schedules in files (§10): offline validation with positions, storage in
metadata.seqctl, field-by-field plan, export, and the round trip export → validate → plan."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from sqlalchemy import Engine, text

from ..conftest import Result
from .sync_helpers import Run, ok, step, templates, write_template

SCHEDULE = {
    "timezone": "restaurant",
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "hours": "14:30-17:00, 09:00-12:00",
    "holidays": "NZ-AUK",
    "count": "business",
}


def _problems(result: Result) -> list[str]:
    return [line for line in result.stdout.splitlines() + result.stderr.splitlines() if line]


def test_validate_reports_each_schedule_error_with_position_and_hint(run: Run) -> None:
    path = Path("bad.yaml")
    path.write_text(
        "name: Scheduled\n"
        "schedule:\n"
        "  timezone: Pacific/Aukland\n"
        "  days: [mon, thurs]\n"
        '  hours: "09:00-12:00, 17:00-14:30"\n'
        "  holidays: NZ-AKL\n"
        "steps:\n"
        "  - name: Intro call\n"
        "    type: call\n"
        '    hours: ""\n'
        "  - name: Follow up\n"
        "    type: call\n"
        '    hours: "nine-ten"\n',
        encoding="utf-8",
    )
    result = run("validate", str(path))
    assert result.exit_code == 1
    out = "\n".join(_problems(result))
    assert "bad.yaml:3:13: error: $.schedule.timezone: unknown time zone 'Pacific/Aukland'" in out
    assert "did you mean 'Pacific/Auckland'" in out
    assert "bad.yaml:4:15: error: $.schedule.days[1]: unknown weekday 'thurs'" in out
    assert "'thu'" in out
    assert (
        "bad.yaml:5:10: error: $.schedule.hours: window '17:00-14:30' ends before it starts" in out
    )
    assert "bad.yaml:6:13: error: $.schedule.holidays: unknown subdivision 'AKL' of NZ" in out
    assert "did you mean 'AUK'" in out
    assert "bad.yaml:10:12: error: $.steps[0].hours" in out
    assert "bad.yaml:13:12: error: $.steps[1].hours: malformed window 'nine-ten'" in out


def test_step_metadata_seqctl_is_reserved(run: Run) -> None:
    write_template("x", steps=[step("Call", metadata={"seqctl": {"hours": "09:00-10:00"}})])
    result = run("validate")
    assert result.exit_code == 1
    assert "$.steps[0].metadata.seqctl" in "\n".join(_problems(result))


def test_unknown_schedule_key_and_country(run: Run) -> None:
    write_template("x", schedule={"holidays": "XX", "timezone": "UTC", "dayz": ["mon"]})
    result = run("validate")
    assert result.exit_code == 1
    out = "\n".join(_problems(result))
    assert "unknown holidays country 'XX'" in out
    assert "$.schedule.dayz" in out


def test_sync_stores_plan_diffs_and_export_round_trips(run: Run, engine: Engine) -> None:
    write_template(
        "scheduled",
        "Scheduled calls",
        [step("Intro call", hours="14:30-17:00"), step("Follow up", "email", delay_value=2)],
        schedule=SCHEDULE,
    )
    ok(run("validate"))
    ok(run("sync"))
    row = templates(engine)["scheduled"]
    assert row["metadata"]["seqctl"]["schedule"] == {
        "timezone": "restaurant",
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "hours": "09:00-12:00, 14:30-17:00",
        "holidays": "NZ-AUK",
        "count": "business",
    }
    with engine.connect() as conn:
        metas = (
            conn.execute(
                text(
                    "SELECT metadata FROM sequence_steps WHERE sequence_template_id = :id"
                    " ORDER BY step_order"
                ),
                {"id": row["id"]},
            )
            .scalars()
            .all()
        )
    assert metas[0] == {"seqctl": {"hours": "14:30-17:00"}} and not metas[1]
    ok(run("plan", "--detailed-exitcode"))  # idempotent

    # field by field: a changed window and a changed holiday calendar
    write_template(
        "scheduled",
        "Scheduled calls",
        [step("Intro call", hours="15:00-17:00"), step("Follow up", "email", delay_value=2)],
        schedule={**SCHEDULE, "holidays": "NZ"},
    )
    plan = json.loads(ok(run("plan", "--format", "json", "--detailed-exitcode"), 2).stdout)
    text_plan = ok(run("plan", "--detailed-exitcode"), 2).stdout
    assert "schedule.holidays" in text_plan and "NZ-AUK" in text_plan
    assert 'hours: "14:30-17:00" -> "15:00-17:00"' in text_plan, text_plan
    assert "15:00-17:00" in json.dumps(plan)
    ok(run("sync"))
    ok(run("plan", "--detailed-exitcode"))

    # export writes schedule and hours; validate and plan are clean on the export
    ok(run("export", "--out", "exported"))
    document = yaml.safe_load(Path("exported/scheduled.yaml").read_text(encoding="utf-8"))
    assert document["schedule"] == {**row["metadata"]["seqctl"]["schedule"], "holidays": "NZ"}
    assert document["steps"][0]["hours"] == "15:00-17:00"
    assert "metadata" not in document["steps"][0]
    ok(run("validate", "exported"))
    exported = Path("exported/scheduled.yaml").read_text(encoding="utf-8")
    Path("sequences/scheduled.yaml").write_text(exported, encoding="utf-8")
    ok(run("plan", "--detailed-exitcode"))

    # removing the schedule is a change too
    write_template(
        "scheduled",
        "Scheduled calls",
        [step("Intro call"), step("Follow up", "email", delay_value=2)],
    )
    assert "schedule" in ok(run("plan", "--detailed-exitcode"), 2).stdout

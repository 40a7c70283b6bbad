"""`seqctl plan` and `seqctl sync` scenarios, through the CLI against a real PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, text

from seqctl.resources import schema_path

from .sync_helpers import (
    DEFAULT_STEPS,
    SEQUENCES,
    Run,
    dump,
    insert_instance,
    insert_unmanaged,
    ok,
    step,
    step_names,
    templates,
    write_template,
)

NO_CHANGES = "Plan: 0 to create, 0 to update, 0 to deactivate, 0 to delete"


def test_first_sync_creates_and_second_changes_nothing(run: Run, engine: Engine) -> None:
    write_template("onboarding", "Restaurant Onboarding", tags=["onboarding"])
    write_template("demo-follow-up", steps=[step("Demo call", task_template="Demo call")])
    assert ok(run("plan", "--detailed-exitcode"), 2).stdout.splitlines()[-1] == (
        "Plan: 2 to create, 0 to update, 0 to deactivate, 0 to delete"
    )
    result = ok(run("sync"))
    assert "Applied: 2 created, 0 updated, 0 deactivated, 0 deleted" in result.stdout
    rows = templates(engine)
    assert step_names(engine, "onboarding") == ["Intro call", "Welcome email", "Menu review"]
    seqctl = rows["onboarding"]["metadata"]["seqctl"]
    assert seqctl["key"] == "onboarding" and seqctl["source"] == "sequences/onboarding.yaml"
    assert seqctl["digest"].startswith("sha256:")
    before = dump(engine)
    ok(run("sync", "--dry-run", "--detailed-exitcode"))
    ok(run("plan", "--detailed-exitcode"))
    assert "Applied: 0 created, 0 updated" in ok(run("sync")).stdout
    assert dump(engine) == before  # no updated_at moved


def test_rename_field_reorder_insert_remove(run: Run, engine: Engine) -> None:
    steps = [step("First step"), step("Second step", "email"), step("Third step", "text")]
    write_template("flow", "Flow", steps=steps)
    ok(run("sync"))
    ids = {s["name"]: s["id"] for s in templates(engine)["flow"]["steps"]}

    write_template("flow", "Flow renamed", steps=steps)
    result = ok(run("plan", "--detailed-exitcode"), 2)
    assert 'name: "Flow" -> "Flow renamed"' in result.stdout
    ok(run("sync"))
    assert templates(engine)["flow"]["name"] == "Flow renamed"

    steps[1] = step("Second step", "email", delay_value=5)
    write_template("flow", "Flow renamed", steps=steps)
    assert "delay_value: 0 -> 5" in ok(run("plan", "--detailed-exitcode"), 2).stdout
    ok(run("sync"))

    reordered = [steps[2], steps[0], steps[1]]  # 1,2,3 -> 3,1,2
    write_template("flow", "Flow renamed", steps=reordered)
    ok(run("sync"))
    rows = templates(engine)["flow"]["steps"]
    assert [(s["step_order"], s["name"]) for s in rows] == [
        (1, "Third step"),
        (2, "First step"),
        (3, "Second step"),
    ]
    assert {s["name"]: s["id"] for s in rows} == ids  # moved in place, same rows

    inserted = [reordered[0], step("Middle step", "call"), *reordered[1:]]
    write_template("flow", "Flow renamed", steps=inserted)
    ok(run("sync"))
    assert step_names(engine, "flow") == ["Third step", "Middle step", "First step", "Second step"]

    write_template("flow", "Flow renamed", steps=inserted[:-1])
    ok(run("sync"))
    assert step_names(engine, "flow") == ["Third step", "Middle step", "First step"]
    ok(run("plan", "--detailed-exitcode"))


def test_removed_file_deactivates_instances_go_on_and_readd_reactivates(
    run: Run, engine: Engine, demo_org: str
) -> None:
    path = write_template("onboarding")
    ok(run("sync"))
    template_id = templates(engine)["onboarding"]["id"]
    instance = insert_instance(engine, template_id, demo_org)
    path.unlink()
    write_template("other")
    plan = ok(run("plan", "--detailed-exitcode"), 2).stdout
    assert "deactivate onboarding" in plan and "1 active, 0 paused instance(s): unaffected" in plan
    ok(run("sync"))
    assert templates(engine)["onboarding"]["is_active"] is False
    with engine.connect() as conn:
        status = conn.execute(
            text("SELECT status FROM sequence_instances WHERE id = :i"), {"i": instance}
        ).scalar()
    assert status == "active"
    ok(run("plan", "--detailed-exitcode"))  # an inactive orphan stays as it is

    write_template("onboarding")
    assert "reactivate onboarding" in ok(run("plan", "--detailed-exitcode"), 2).stdout
    ok(run("sync"))
    assert templates(engine)["onboarding"]["is_active"] is True
    assert templates(engine)["onboarding"]["id"] == template_id
    ok(run("plan", "--detailed-exitcode"))


def test_prune_without_and_with_instances(run: Run, engine: Engine, demo_org: str) -> None:
    write_template("keep")
    gone = write_template("gone")
    busy = write_template("busy")
    ok(run("sync"))
    insert_instance(engine, templates(engine)["busy"]["id"], demo_org, status="completed")
    gone.unlink()
    busy.unlink()
    before = dump(engine)
    refused = ok(run("sync", "--prune", "--yes"), 1)
    assert "have instances" in refused.stderr or "they have instances" in refused.stderr
    assert "busy" in refused.stderr and "Instance " in refused.stderr  # names the instance
    assert dump(engine) == before

    write_template("busy")
    refused = ok(run("sync", "--prune"), 1)  # deletes need --yes without a terminal
    assert "--yes" in refused.stderr and dump(engine) == before
    result = ok(run("sync", "--prune", "--yes"))
    assert "Applied: 0 created, 0 updated, 0 deactivated, 1 deleted" in result.stdout
    assert set(templates(engine)) == {"keep", "busy"}


def test_prune_with_no_files_needs_allow_empty(run: Run, engine: Engine) -> None:
    write_template("only")
    ok(run("sync"))
    (SEQUENCES / "only.yaml").unlink()
    refused = ok(run("sync", "--prune", "--yes"), 1)
    assert "--allow-empty" in refused.stderr
    ok(run("sync", "--prune", "--yes", "--allow-empty"))
    assert templates(engine) == {}


def test_drift_shows_in_plan_and_sync_puts_it_back(run: Run, engine: Engine) -> None:
    write_template("onboarding")
    ok(run("sync"))
    with engine.begin() as conn:
        conn.execute(text("UPDATE sequence_steps SET delay_value = 9 WHERE name = 'Welcome email'"))
    plan = ok(run("plan", "--detailed-exitcode"), 2).stdout
    assert "drift" in plan and "delay_value: 9 -> 1" in plan
    document = json.loads(ok(run("plan", "--format", "json")).stdout)
    assert document["changes"][0]["drift"] is True and document["summary"]["drift"] == 1
    ok(run("sync"))
    ok(run("plan", "--detailed-exitcode"))
    welcome = [s for s in templates(engine)["onboarding"]["steps"] if s["name"] == "Welcome email"]
    assert welcome[0]["delay_value"] == 1


def test_unmanaged_templates_untouched_and_adopt(run: Run, engine: Engine, demo_org: str) -> None:
    keep_id = insert_unmanaged(
        engine, demo_org, "Made in the web app", [{"name": "Call", "type": "call"}]
    )
    clash_id = insert_unmanaged(engine, demo_org, "Onboarding", [{"name": "Old", "type": "call"}])
    before = [row for row in dump(engine)[0][1] if keep_id in row]
    write_template("onboarding", "Onboarding")
    refused = ok(run("sync"), 1)
    assert "sequences/onboarding.yaml:2:7: an unmanaged template" in refused.stderr
    assert "--adopt" in refused.stderr
    result = ok(run("sync", "--adopt"))
    assert "adopt onboarding" in result.stdout
    rows = templates(engine)
    assert rows["onboarding"]["id"] == clash_id  # taken over in place
    assert step_names(engine, "onboarding") == [s["name"] for s in DEFAULT_STEPS]
    assert [row for row in dump(engine)[0][1] if keep_id in row] == before
    ok(run("plan", "--detailed-exitcode"))
    ok(run("sync", "--prune", "--yes"))
    assert "Made in the web app" in templates(engine)  # never deleted: unmanaged


def test_unknown_reference_points_at_file_line_col(run: Run, engine: Engine) -> None:
    write_template("onboarding", steps=[step("Intro call", task_template="Intro cal script")])
    result = ok(run("plan"), 1)
    assert "sequences/onboarding.yaml:6:18: unknown task template 'Intro cal script'" in (
        result.stderr
    )
    assert "did you mean 'Intro call script'" in result.stderr
    assert templates(engine) == {}


def test_json_plan_validates_against_the_schema(run: Run, engine: Engine, demo_org: str) -> None:
    from jsonschema import Draft202012Validator

    write_template("a")
    write_template("b", steps=[step("One"), step("Two"), step("Three")])
    gone = write_template("c")
    ok(run("sync"))
    insert_instance(engine, templates(engine)["b"]["id"], demo_org, status="paused")
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE sequence_steps SET name = 'Edited' WHERE name = 'Intro call' "
                "AND step_order = 1 AND sequence_template_id = :t"
            ),
            {"t": templates(engine)["a"]["id"]},
        )
    gone.unlink()
    write_template("b", "B renamed", steps=[step("Three"), step("One"), step("New", "text")])
    write_template("d")
    validator = Draft202012Validator(json.loads(schema_path("plan.schema.json").read_text()))
    Draft202012Validator.check_schema(validator.schema)
    plan = json.loads(ok(run("plan", "--format", "json")).stdout)
    assert sorted(c["kind"] for c in plan["changes"]) == [
        "create",
        "deactivate",
        "update",
        "update",
    ]
    assert sorted(s["kind"] for c in plan["changes"] for s in c["steps"] if c["key"] == "b") == [
        "create",
        "delete",
        "move",
        "move",
    ]
    validator.validate(plan)
    applied = json.loads(ok(run("sync", "--format", "json")).stdout)
    assert applied["applied"] is True
    validator.validate(applied)
    markdown = ok(run("plan", "--format", "markdown")).stdout
    assert markdown.splitlines()[0] == NO_CHANGES


def test_markdown_plan_has_a_details_block_per_template(run: Run) -> None:
    write_template("a")
    write_template("b")
    markdown = ok(run("plan", "--format", "markdown")).stdout
    assert markdown.splitlines()[0] == NO_CHANGES.replace("0 to create", "2 to create")
    assert markdown.count("<details>") == 2 and markdown.count("</details>") == 2


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "--format", "yaml"],
        ["plan", "--no-such-flag"],
        ["sync", "--plan", "missing.json"],
        ["sync", "--lock-timeout", "-1"],
    ],
)
def test_usage_errors_exit_64(run: Run, args: list[str]) -> None:
    write_template("a")
    ok(run(*args, "--detailed-exitcode"), 64)


def test_plan_file_with_paths_is_a_usage_error(run: Run) -> None:
    write_template("a")
    ok(run("plan", "--out", "plan.json"))
    assert "--plan FILE" in ok(run("sync", "--plan", "plan.json", "sequences"), 64).stderr


def test_org_by_name_and_missing_directory(run: Run) -> None:
    write_template("a")
    ok(run("--org", "Demo Restaurant Group", "sync"))
    assert "no organisation named" in ok(run("--org", "Nobody", "plan"), 1).stderr
    assert ok(run("plan", "no-such-dir"), 64).stderr


@pytest.mark.parametrize("answer", [False, True])
def test_deletes_ask_on_a_terminal(
    run: Run, engine: Engine, monkeypatch: pytest.MonkeyPatch, answer: bool
) -> None:
    import io

    import typer

    write_template("keep")
    gone = write_template("gone")
    ok(run("sync"))
    gone.unlink()
    before = dump(engine)
    terminal = io.StringIO()
    terminal.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr("sys.stdin", terminal)
    asked: list[str] = []

    def confirm(text: str, **_: object) -> bool:
        asked.append(text)
        return answer

    monkeypatch.setattr(typer, "confirm", confirm)
    result = run("sync", "--prune")
    assert asked and "Delete 1 template(s)?" in asked[0]
    if answer:
        ok(result)
        assert set(templates(engine)) == {"keep"}
    else:
        assert ok(result, 1).stderr.count("sync cancelled: nothing was changed") == 1
        assert dump(engine) == before

"""Template versions (spec §9, item 1): metadata.seqctl.version, recorded on instances."""

from __future__ import annotations

from sqlalchemy import Engine, text

from .sync_helpers import Run, step, templates, write_template

STEPS = [step("Intro call"), step("Follow up", delay_value=2), step("Close", "email")]


def _version(engine: Engine, key: str) -> int | None:
    return templates(engine)[key]["metadata"]["seqctl"].get("version")


def test_version_1_at_creation_and_plus_one_per_content_change(run: Run, engine: Engine) -> None:
    write_template("onb", "Onboarding", STEPS)
    assert run("sync").exit_code == 0
    assert _version(engine, "onb") == 1
    before = templates(engine)["onb"]["updated_at"]
    assert run("sync").exit_code == 0  # no-op: idempotent, version unchanged
    assert _version(engine, "onb") == 1
    assert templates(engine)["onb"]["updated_at"] == before
    write_template("onb", "Onboarding", [*STEPS, step("Extra call")])
    assert run("sync").exit_code == 0
    assert _version(engine, "onb") == 2
    write_template("onb", "Onboarding", [*STEPS, step("Extra call")], description="now")
    assert run("sync").exit_code == 0
    assert _version(engine, "onb") == 3
    assert run("sync").exit_code == 0
    assert _version(engine, "onb") == 3


def test_drift_restored_by_sync_is_a_new_version(run: Run, engine: Engine) -> None:
    write_template("onb", "Onboarding", STEPS)
    run("sync")
    with engine.begin() as conn:
        conn.execute(text("UPDATE sequence_steps SET name = 'Edited in app' WHERE step_order = 1"))
    assert run("sync").exit_code == 0
    assert _version(engine, "onb") == 2


def test_adopting_a_web_app_template_gives_it_a_version(run: Run, engine: Engine) -> None:
    write_template("onb", "Onboarding", STEPS)
    run("sync")
    with engine.begin() as conn:  # the web app's template: no seqctl entry at all
        conn.execute(
            text("UPDATE sequence_templates SET metadata = '{}'::jsonb, name = 'Web onboarding'")
        )
    write_template("web", "Web onboarding", STEPS)
    assert run("sync", "--adopt").exit_code == 0
    # the content seqctl first sees is version 1; the adopt changed nothing else
    assert _version(engine, "web") == 1


def test_apply_records_template_version_and_step_ids(run: Run, engine: Engine) -> None:
    write_template("onb", "Onboarding", STEPS)
    run("sync")
    write_template("onb", "Onboarding", [*STEPS, step("Extra call")])
    run("sync")
    assert run("apply", "-t", "onb", "-r", "Luigi's Trattoria").exit_code == 0
    with engine.connect() as conn:
        meta = conn.execute(text("SELECT metadata FROM sequence_instances")).scalar_one()
        tasks = conn.execute(
            text(
                "SELECT t.metadata -> 'sequence' ->> 'step_id' AS step_id, s.id::text AS id"
                " FROM tasks t JOIN sequence_steps s ON s.step_order = t.sequence_step_order"
                " ORDER BY t.sequence_step_order"
            )
        ).all()
    assert meta["seqctl"]["template_version"] == 2
    assert len(tasks) == 4
    assert all(r.step_id == r.id for r in tasks)


def test_status_marks_instances_on_an_older_version(run: Run, engine: Engine) -> None:
    write_template("onb", "Onboarding", STEPS)
    run("sync")
    run("apply", "-t", "onb", "-r", "Luigi's Trattoria")
    fresh = run("status")
    assert "\u2192" not in fresh.stdout
    write_template("onb", "Onboarding", [*STEPS, step("Extra call")])
    plan = run("plan")
    assert "1 stay on their version (the template becomes v2)" in plan.stdout
    assert "seqctl migrate --template onb" in plan.stdout
    plan_json = run("plan", "--format", "json")
    import json

    impact = json.loads(plan_json.stdout)["changes"][0]["impact"]
    assert impact["stay_on_version"] == 1
    assert impact["migrate_command"] == "seqctl migrate --template onb"
    run("sync")
    out = run("status")
    assert "v1\u2192v2" in out.stdout
    data = json.loads(run("status", "--format", "json").stdout)["instances"][0]
    assert (data["template_version"], data["current_template_version"], data["outdated"]) == (
        1,
        2,
        True,
    )


def test_outdated_instance_counts(run: Run, engine: Engine, demo_org: str) -> None:
    from seqctl.db.versions import outdated_instance_counts

    write_template("onb", "Onboarding", STEPS)
    run("sync")
    run("apply", "-t", "onb", "-r", "Luigi's Trattoria")
    write_template("onb", "Onboarding", [*STEPS, step("Extra call")])
    run("sync")
    run("apply", "-t", "onb", "-r", "Sakura Sushi Bar")
    with engine.connect() as conn:
        counts = outdated_instance_counts(conn, demo_org)
    (count,) = counts.values()
    assert (count.template_version, count.running, count.outdated) == (2, 2, 1)


def test_templates_lists_instances_on_an_older_version(run: Run) -> None:
    """`seqctl templates` counts the running instances an edit left on an older version."""
    import json

    write_template("onb", "Onboarding", STEPS)
    run("sync")
    run("apply", "-t", "onb", "-r", "Luigi's Trattoria")
    write_template("onb", "Onboarding", [*STEPS, step("Extra call")])
    run("sync")
    run("apply", "-t", "onb", "-r", "Sakura Sushi Bar")
    listed = run("templates")
    header, *rows = [line.split() for line in listed.stdout.splitlines()]
    (row,) = [r for r in rows if r[0] == "onb"]
    assert dict(zip(header, row, strict=False))["OUTDATED"] == "1"
    listing = json.loads(run("templates", "--format", "json").stdout)["templates"]
    (data,) = [t for t in listing if t["key"] == "onb"]
    assert (data["version"], data["running"], data["outdated"]) == (2, 2, 1)

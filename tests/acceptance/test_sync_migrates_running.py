"""`running_instances: migrate` in a template file (spec §9): sync moves the running
instances in its own transaction, plan shows the impact, saved plans go stale."""

from __future__ import annotations

import json

from sqlalchemy import Engine, text

from .migrate_helpers import active_names, advance, pending_names, start, steps_of, tasks
from .sync_helpers import Run, dump, templates, write_template

OLD = ["Step A", "Step B", "Step C", "Step D"]
NEW = ["Step A", "Step B", "Step D", "Final wrap-up"]  # C removed, one added
LUIGI, SAKURA = "Luigi's Trattoria", "Sakura Sushi Bar"


def _two_instances(run: Run, engine: Engine, org: str) -> tuple[str, str]:
    first = start(run, engine, "onb", steps_of(OLD), LUIGI, running_instances="migrate")
    second = start(run, engine, "onb", steps_of(OLD), SAKURA, running_instances="migrate")
    advance(engine, org, second, 1)
    return first, second


def test_validate_accepts_the_setting_and_rejects_other_values(run: Run) -> None:
    write_template("onb", "Template onb", steps_of(OLD), running_instances="migrate")
    assert run("validate").exit_code == 0
    write_template("onb", "Template onb", steps_of(OLD), running_instances="move")
    bad = run("validate")
    assert bad.exit_code == 1 and "running_instances" in (bad.stdout + bad.stderr)


def test_sync_migrates_running_instances_and_plan_shows_the_impact(
    run: Run, engine: Engine, demo_org: str
) -> None:
    first, second = _two_instances(run, engine, demo_org)
    write_template("onb", "Template onb", steps_of(NEW), running_instances="migrate")
    plan = run("plan")
    assert "sync moves them to v2" in plan.stdout
    assert "2 instance(s) touched: 2 task(s) added, 0 changed, 2 cancelled" in plan.stdout
    assert "stay on their version" not in plan.stdout
    impact = json.loads(run("plan", "--format", "json").stdout)["changes"][0]["impact"]
    assert impact["affected"] is True and impact["migrated_by_sync"] == 2
    assert impact["migration"]["tasks_added"] == 2
    markdown = run("plan", "--format", "markdown").stdout
    assert "2 instance(s) touched" in markdown
    assert run("sync").exit_code == 0
    assert pending_names(engine, first) == ["Step B", "Step D", "Final wrap-up"]
    assert pending_names(engine, second) == ["Step D", "Final wrap-up"]
    assert active_names(engine, second) == ["Step B"]
    status = json.loads(run("status", "--format", "json").stdout)["instances"]
    assert {i["outdated"] for i in status} == {False}


def test_keep_is_the_default(run: Run, engine: Engine, demo_org: str) -> None:
    first = start(run, engine, "onb", steps_of(OLD), LUIGI)
    write_template("onb", "Template onb", steps_of(NEW))
    assert run("sync").exit_code == 0
    assert pending_names(engine, first) == OLD[1:]


def test_sync_rolls_back_entirely_when_one_instance_fails(
    run: Run, engine: Engine, demo_org: str
) -> None:
    first, second = _two_instances(run, engine, demo_org)
    with engine.begin() as conn:  # a rule of the team's database refuses Sakura's new task
        conn.execute(
            text(
                "CREATE FUNCTION refuse_sakura() RETURNS trigger LANGUAGE plpgsql AS $$"
                " BEGIN IF NEW.restaurant_id = (SELECT id FROM restaurants"
                " WHERE name = 'Sakura Sushi Bar') AND NEW.name = 'Final wrap-up' THEN"
                " RAISE EXCEPTION 'refused by the team''s rule'; END IF; RETURN NEW; END $$;"
                " CREATE TRIGGER refuse_sakura BEFORE INSERT ON tasks"
                " FOR EACH ROW EXECUTE FUNCTION refuse_sakura()"
            )
        )
    before = dump(engine)
    write_template("onb", "Template onb", steps_of(NEW), running_instances="migrate")
    result = run("sync")
    assert result.exit_code == 1
    assert "refused by the team" in result.stderr
    assert dump(engine) == before  # the template's steps too: nothing changed
    assert templates(engine)["onb"]["metadata"]["seqctl"]["version"] == 1


def test_saved_plan_is_stale_once_an_instance_progressed(
    run: Run, engine: Engine, demo_org: str
) -> None:
    first, _ = _two_instances(run, engine, demo_org)
    write_template("onb", "Template onb", steps_of(NEW), running_instances="migrate")
    assert run("plan", "--out", "plan.json").exit_code == 0
    advance(engine, demo_org, first, 1)
    before = tasks(engine, first)
    stale = run("sync", "--plan", "plan.json")
    assert stale.exit_code == 1 and "stale plan" in stale.stderr
    assert tasks(engine, first) == before
    assert run("plan", "--out", "plan2.json").exit_code == 0
    assert run("sync", "--plan", "plan2.json").exit_code == 0
    assert pending_names(engine, first) == ["Step D", "Final wrap-up"]

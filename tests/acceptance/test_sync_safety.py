"""Sync safety: all-or-nothing, the organisation lock, saved plans, set-based SQL."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text

from seqctl.errors import DatabaseError
from seqctl.runtime.lookup import Organisation
from seqctl.sync import apply_plan as sync_module
from seqctl.sync.apply_plan import SyncOptions, lock_key, sync
from seqctl.sync.plan import Plan
from seqctl.templates.spec import Location, StepSpec, TemplateSpec

from ..db.statements import captured
from .sync_helpers import (
    SEQUENCES,
    Run,
    dump,
    ok,
    step,
    templates,
    write_template,
)


def specs(count: int, steps: int = 3, changed: int = 0, prefix: str = "t") -> list[TemplateSpec]:
    """``count`` templates of ``steps`` steps; the first ``changed`` have step 2 edited."""
    return [
        TemplateSpec(
            key=f"{prefix}{n:04d}",
            name=f"Template {n:04d}",
            source=f"sequences/{prefix}{n}.yaml",
            steps=tuple(
                StepSpec(
                    i + 1, f"Step {i + 1}", "call", delay_value=7 if n < changed and i == 1 else i
                )
                for i in range(steps)
            ),
        )
        for n in range(count)
    ]


def new_org(engine: Engine, name: str) -> Organisation:
    org = Organisation(str(uuid.uuid4()), name)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO organisations (id, name) VALUES (:i, :n)"), {"i": org.id, "n": name}
        )
    return org


# -- all or nothing -------------------------------------------------------------------


FAULT = """
CREATE SEQUENCE fault_counter;
CREATE FUNCTION inject_fault() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF nextval('fault_counter') = {n} THEN
    RAISE EXCEPTION 'injected fault on insert number {n}';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER inject_fault BEFORE INSERT ON sequence_steps
  FOR EACH ROW EXECUTE FUNCTION inject_fault();
"""


def test_fault_half_way_leaves_the_database_as_before(run: Run, engine: Engine) -> None:
    write_template("a", steps=[step("One"), step("Two"), step("Three")])
    write_template("b")
    gone = write_template("c")
    ok(run("sync"))
    # a change touching every statement: template delete-free ops, step delete/update/move/insert
    gone.unlink()
    write_template("a", "A renamed", steps=[step("Three"), step("One"), step("Four")])
    write_template("b", steps=[step("Only one")])
    write_template("d", steps=[step("D one"), step("D two"), step("D three")])
    with engine.begin() as conn:
        conn.execute(text(FAULT.replace("{n}", "3")))  # the 3rd of the 4 step inserts
    before = dump(engine)
    failed = ok(run("sync"), 1)
    assert "injected fault on insert number 3" in failed.stderr
    assert dump(engine) == before
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER inject_fault ON sequence_steps"))
    ok(run("sync"))
    assert templates(engine)["a"]["name"] == "A renamed"


def test_database_error_points_at_the_template_file(engine: Engine, demo_org: str) -> None:
    org = Organisation(demo_org, "Demo")
    bad = TemplateSpec(
        key="bad",
        name="Bad",
        source="sequences/bad.yaml",
        steps=(StepSpec(1, "Fine step", "call"), StepSpec(2, "x" * 101, "call")),
        locations={"$.steps[1]": Location("sequences/bad.yaml", 9, 5)},
    )
    before = dump(engine)
    with pytest.raises(DatabaseError) as info, engine.begin() as conn:
        sync(conn, [bad], org)
    assert info.value.message.startswith("sequences/bad.yaml:9:5: template 'bad' ($.steps[1].name)")
    assert "sequence_steps_name_check" in info.value.message
    assert dump(engine) == before


# -- the organisation lock ------------------------------------------------------------


@pytest.fixture
def holder(database_url: str, demo_org: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection holding the demo organisation's sync lock until it commits."""
    with psycopg.connect(database_url) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(demo_org),))
        yield conn


def test_lock_timeout_fails_with_a_clear_message(
    run: Run, engine: Engine, holder: psycopg.Connection[Any]
) -> None:
    write_template("a")
    started = time.monotonic()
    result = ok(run("sync", "--lock-timeout", "1"), 1)
    assert 0.9 < time.monotonic() - started < 10
    assert "another sync of organisation 'Demo Restaurant Group' is running" in result.stderr
    assert "--lock-timeout" in result.stderr
    assert "another sync" in ok(run("sync", "--lock-timeout", "0"), 1).stderr
    assert templates(engine) == {}
    ok(run("plan", "--detailed-exitcode"), 2)  # plan takes no lock


def test_sync_waits_for_the_lock_then_runs(
    run: Run, engine: Engine, holder: psycopg.Connection[Any]
) -> None:
    write_template("a")
    threading.Timer(1.0, holder.commit).start()
    started = time.monotonic()
    ok(run("sync", "--lock-timeout", "30"))
    assert time.monotonic() - started >= 0.9
    assert set(templates(engine)) == {"a"}


def test_two_concurrent_syncs_serialise(
    engine: Engine, demo_org: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = Organisation(demo_org, "Demo")
    apply_plan = sync_module.apply_plan

    def slow_apply(conn: Any, plan: Plan, **kwargs: Any) -> None:
        time.sleep(0.5)  # widen the window in which the two could interleave
        apply_plan(conn, plan, **kwargs)

    monkeypatch.setattr(sync_module, "apply_plan", slow_apply)
    barrier = threading.Barrier(2)
    plans: list[Plan] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            with engine.begin() as conn:
                plans.append(sync(conn, specs(5), org))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(p.counts()["create"] for p in plans) == [0, 5]  # the second saw the first
    assert len(templates(engine)) == 5


# -- saved plans ----------------------------------------------------------------------


def test_saved_plan_applies_exactly_and_only_once(run: Run, engine: Engine) -> None:
    write_template("a")
    ok(run("plan", "--out", "plan.json"))
    write_template("b")  # not in the saved plan
    result = ok(run("sync", "--plan", "plan.json"))
    assert "Applied: 1 created" in result.stdout
    assert set(templates(engine)) == {"a"}
    twice = ok(run("sync", "--plan", "plan.json"), 1)
    assert "stale plan" in twice.stderr and "seqctl plan --out" in twice.stderr


def test_saved_plan_of_a_first_sync_is_stale_after_another_sync(run: Run, engine: Engine) -> None:
    write_template("a")
    ok(run("plan", "--out", "plan.json"))
    ok(run("sync"))
    before = dump(engine)
    assert "stale plan" in ok(run("sync", "--plan", "plan.json"), 1).stderr
    assert dump(engine) == before


def test_saved_plan_is_stale_after_a_web_app_edit(run: Run, engine: Engine) -> None:
    write_template("a")
    ok(run("sync"))
    write_template("a", "A renamed")
    ok(run("plan", "--out", "plan.json"))
    with engine.begin() as conn:
        conn.execute(text("UPDATE sequence_steps SET delay_value = 4 WHERE step_order = 2"))
    assert "stale plan" in ok(run("sync", "--plan", "plan.json"), 1).stderr
    ok(run("plan", "--out", "plan.json"))
    ok(run("sync", "--plan", "plan.json"))
    ok(run("plan", "--detailed-exitcode"))


def test_saved_prune_plan_still_needs_yes(run: Run, engine: Engine) -> None:
    write_template("a")
    ok(run("sync"))
    (SEQUENCES / "a.yaml").unlink()
    ok(run("plan", "--prune", "--allow-empty", "--out", "plan.json"))
    assert "--yes" in ok(run("sync", "--plan", "plan.json"), 1).stderr
    ok(run("sync", "--plan", "plan.json", "--yes"))
    assert templates(engine) == {}


def test_broken_plan_file_is_refused(run: Run) -> None:
    (SEQUENCES).mkdir()
    (SEQUENCES / "x.json").write_text('{"format_version": "1", "changes": []}')
    result = ok(run("sync", "--plan", str(SEQUENCES / "x.json")), 1)
    assert "not a valid plan file" in result.stderr


# -- set-based SQL --------------------------------------------------------------------


def count_statements(engine: Engine, action: Callable[[], object]) -> int:
    with captured(engine) as counted:
        action()
    return len(counted)


def test_statement_count_does_not_grow_with_templates(engine: Engine) -> None:
    def counts(size: int) -> list[int]:
        org = new_org(engine, f"Org {size}")

        def run_sync(templates: list[TemplateSpec], prune: bool = False) -> None:
            with engine.begin() as conn:
                sync(conn, templates, org, SyncOptions(prune=prune))

        return [
            count_statements(engine, lambda: run_sync(specs(size))),  # first sync
            count_statements(engine, lambda: run_sync(specs(size))),  # no-op
            # 10% changed one step; then: one template gone, one new, steps moved
            count_statements(engine, lambda: run_sync(specs(size, changed=size // 10))),
            count_statements(
                engine,
                lambda: run_sync(
                    [*specs(size - 1, changed=size // 10)[1:], *specs(1, steps=4, prefix="n")]
                ),
            ),
            count_statements(engine, lambda: run_sync(specs(size // 2), prune=True)),
        ]

    small, large = counts(10), counts(100)
    assert small == large
    assert max(small) <= 13


def test_tampered_plan_cannot_touch_another_organisation(run: Run, engine: Engine) -> None:
    import json

    other = new_org(engine, "Other org")
    with engine.begin() as conn:
        sync(conn, specs(1), other)
    foreign_step = templates(engine)["t0000"]["steps"][0]["id"]
    write_template("a", steps=[step("One"), step("Two")])
    ok(run("--org", "Demo Restaurant Group", "sync"))
    write_template("a", steps=[step("One", delay_value=3), step("Two")])
    ok(run("--org", "Demo Restaurant Group", "plan", "--out", "plan.json"))
    document = json.loads(Path("plan.json").read_text())
    document["changes"][0]["steps"][0]["step_id"] = foreign_step
    Path("plan.json").write_text(json.dumps(document))
    before = dump(engine)
    refused = ok(run("sync", "--plan", "plan.json"), 1)
    assert "does not match the organisation's steps" in refused.stderr
    assert dump(engine) == before

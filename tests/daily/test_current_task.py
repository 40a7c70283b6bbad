"""`seqctl task complete|skip --instance ID` / `--restaurant R [--template T]` act on that
instance's active task (spec §8); `status` shows the active task's short id."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from ..conftest import Result
from ..db.sequences_helpers import LUIGI, S, make_template, tasks_of

Cli = Callable[..., Result]


@pytest.fixture
def seq(database_url: str, engine: Engine, demo_org: str, cli: Cli) -> Cli:
    make_template(engine, demo_org, "Onboarding", [S("Call"), S("Mail", 2), S("Visit", 3)])
    make_template(engine, demo_org, "Follow-up", [S("Check in")], key="follow-up")

    def run(*args: str) -> Result:
        return cli("--database-url", database_url, *args)

    return run


def _start(seq: Cli, template: str) -> str:
    result = seq("apply", "-t", template, "-r", LUIGI, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return str(json.loads(result.stdout)["results"][0]["instance_id"])


def test_complete_by_restaurant_and_instance(seq: Cli, engine: Engine) -> None:
    iid = _start(seq, "Onboarding")
    tasks = [t["id"] for t in tasks_of(engine, iid)]
    assert tasks[0][:8] in seq("status").stdout  # the active task's short id
    done = seq("task", "complete", "--restaurant", "Luigi's Trattoria")
    assert done.exit_code == 0, done.stderr
    assert f"completed task {tasks[0][:8]} (Call)" in done.stdout
    assert "step 2 active" in done.stdout and f"(task {tasks[1][:8]})" in done.stdout
    skipped = seq("task", "skip", "--instance", iid[:8])
    assert skipped.exit_code == 0, skipped.stderr
    assert f"skipped task {tasks[1][:8]} (Mail)" in skipped.stdout
    assert "step 3 active" in skipped.stdout
    assert [t["status"] for t in tasks_of(engine, iid)] == ["completed", "cancelled", "active"]


def test_several_running_sequences_need_a_template(seq: Cli, engine: Engine) -> None:
    onboarding = _start(seq, "Onboarding")
    _start(seq, "follow-up")
    result = seq("task", "complete", "-r", "Luigi's Trattoria")
    assert result.exit_code == 64
    assert "2 sequences are running" in result.stderr and onboarding[:8] in result.stderr
    assert "--template" in result.stderr
    result = seq("task", "complete", "-r", "Luigi's Trattoria", "-t", "follow-up")
    assert result.exit_code == 0, result.stderr
    assert "completed task" in result.stdout and "(Check in)" in result.stdout
    assert "completed" in result.stdout.splitlines()[-1]  # the instance completed


def test_usage_errors(seq: Cli) -> None:
    assert seq("task", "complete").exit_code == 64
    both = seq("task", "complete", "abcdef12", "--instance", "abcdef12")
    assert both.exit_code == 64 and "not both" in both.stderr
    alone = seq("task", "complete", "--template", "follow-up")
    assert alone.exit_code == 64 and "--restaurant" in alone.stderr
    nothing = seq("task", "complete", "--restaurant", "Luigi's Trattoria")
    assert nothing.exit_code == 1 and "no running sequence" in nothing.stderr

"""Rendering on the application's own schema, under its RLS (issue 15, item 4): the
catalogue from its restaurant columns, subjects from its message templates, declared
variables, and the sales rep as assignee."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..conftest import Result
from ..db import catalog
from .conftest import BURGER_BARN, JO, REP

Cli = Callable[..., Result]
NOODLE_NOOK = "a0000000-0000-4000-8000-0000000000c2"
REP_ID, JO_ID = "a0000000-0000-4000-8000-0000000000a1", "a0000000-0000-4000-8000-0000000000a2"

TEMPLATE = """\
key: app-rendering
name: App Rendering
steps:
  - name: Catalogue call
    type: call
    custom_message: "{cuisine}|{organisation_name}|{weekly_uber_sales_volume}|{uber_aov}|\\
      {painpoints}|{demo_store_built}|{lead_stage}|{icp_rating}|{ordering_url}"
  - name: Follow-up email
    type: email
    message_template: Demo follow-up
  - name: Book the demo
    type: demo_meeting
    task_template: Book demo
"""
VARIABLES = """\
variables:
  ordering_url:
    template: "https://{subdomain}.pumpd.co.nz"
"""


def _rows(url: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    return catalog.rows(url, sql, params)


def test_apply_renders_like_the_web_app(app_before_url: str, cli: Cli, tmp_path: Path) -> None:
    def run(*args: str) -> Result:
        result = cli("--database-url", app_before_url, "--org", "Pumpd Sales", *args)
        assert result.exit_code == 0, result.stderr
        return result

    run("db", "upgrade", "--yes")
    files = tmp_path / "sequences"
    files.mkdir()
    (tmp_path / ".git").mkdir()
    (files / "app-rendering.yaml").write_text(TEMPLATE, encoding="utf-8")
    (files / "variables.yaml").write_text(VARIABLES, encoding="utf-8")
    run("--as-user", REP, "sync", str(files))
    run("--as-user", JO, "apply", "-t", "app-rendering", "-r", "Burger Barn", "-r", "Noodle Nook")
    tasks = _rows(
        app_before_url,
        "SELECT t.type, t.message_rendered, t.subject_line_rendered, t.assigned_to::text"
        " FROM tasks t WHERE t.restaurant_id = %s AND t.sequence_instance_id IS NOT NULL"
        " ORDER BY t.sequence_step_order",
        (BURGER_BARN,),
    )
    assert tasks[0][1] == (
        "Burgers, American|Barn Group Ltd|1,500 orders|$32.50|high commission, no data|Yes|"
        "demo booked|8|https://burgerbarn.pumpd.co.nz"
    )
    assert tasks[1][1:3] == (
        "Hi Sam Smith, thanks for booking a demo for Burger Barn in Auckland.",
        "Your demo, Burger Barn",
    )
    assert tasks[2][:2] == ("demo_meeting", "Demo with Burger Barn")
    # Burger Barn's sales rep gets its tasks and instance; Noodle Nook has none: the acting user
    assert {t[3] for t in tasks} == {REP_ID}
    assert _rows(
        app_before_url,
        "SELECT restaurant_id::text, assigned_to::text FROM sequence_instances ORDER BY 1",
    ) == [(BURGER_BARN, REP_ID), (NOODLE_NOOK, JO_ID)]
    nook = _rows(
        app_before_url,
        "SELECT message_rendered FROM tasks WHERE restaurant_id = %s"
        " AND sequence_instance_id IS NOT NULL ORDER BY sequence_step_order LIMIT 1",
        (NOODLE_NOOK,),
    )
    assert nook == [("|||||No|||",)]

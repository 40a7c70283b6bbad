"""Schedules through the command line (§10): sync a scheduled template, `apply --dry-run`
lists the restaurants whose zone fell back, `apply` schedules in each restaurant's zone,
`status` shows due dates in the zone they were scheduled in, with its abbreviation."""

from __future__ import annotations

import json
import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text

from seqctl.db.demo import demo_id

from .sync_helpers import Run, ok, step, write_template

LUIGI = demo_id("restaurant", "Luigi's Trattoria")
SAKURA = demo_id("restaurant", "Sakura Sushi Bar")


def test_apply_and_status_in_the_restaurants_zone(run: Run, engine: Engine) -> None:
    write_template(
        "calls",
        "Calls between services",
        [step("Intro call", hours="14:30-17:00"), step("Follow up", delay_value=1)],
        schedule={
            "timezone": "restaurant",
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "hours": "09:00-12:00, 14:30-17:00",
            "holidays": "NZ",
        },
    )
    ok(run("sync"))
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE restaurants SET metadata = COALESCE(metadata, '{}'::jsonb)"
                ' || \'{"timezone": "Pacific/Auckland"}\' WHERE id = :id'
            ),
            {"id": LUIGI},
        )
        conn.execute(
            text("UPDATE restaurants SET metadata = metadata - 'timezone' WHERE id = :id"),
            {"id": SAKURA},
        )
    dry = ok(
        run(
            "apply",
            "--template",
            "calls",
            "--restaurant",
            LUIGI,
            "--restaurant",
            SAKURA,
            "--dry-run",
        )
    )
    assert f"time zone of Sakura Sushi Bar ({SAKURA}): no restaurants.metadata.timezone" in (
        dry.stdout
    )
    assert "Luigi's Trattoria (" + LUIGI + "): " not in dry.stdout
    assert re.search(r"due \d{4}-\d\d-\d\d (14|15|16):\d\d NZ[DS]T", dry.stdout), dry.stdout
    dry_json = json.loads(
        ok(
            run(
                "apply",
                "--template",
                "calls",
                "--restaurant",
                SAKURA,
                "--dry-run",
                "--format",
                "json",
            )
        ).stdout
    )
    assert dry_json["zone_fallbacks"][0]["restaurant_id"] == SAKURA

    started = json.loads(
        ok(run("apply", "--template", "calls", "--restaurant", LUIGI, "--format", "json")).stdout
    )
    instance_id = started["results"][0]["instance_id"]
    with engine.connect() as conn:
        due = conn.execute(
            text(
                "SELECT due_date FROM tasks WHERE sequence_instance_id = :i"
                " AND sequence_step_order = 1"
            ),
            {"i": instance_id},
        ).scalar_one()
    local = due.astimezone(ZoneInfo("Pacific/Auckland"))
    assert local.weekday() < 5 and time(14, 30) <= local.time() < time(17, 0)
    assert due >= datetime.now(tz=ZoneInfo("UTC")).replace(second=0, microsecond=0)

    status = ok(run("status", instance_id)).stdout
    shown = f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
    assert shown in status and local.tzname() in ("NZDT", "NZST")
    detail = json.loads(ok(run("status", instance_id, "--format", "json")).stdout)
    assert detail["steps"][0]["scheduled_in"] == "Pacific/Auckland"
    assert detail["steps"][0]["due_date"] == local.isoformat()


def test_status_list_shows_due_dates_in_the_zone_they_were_scheduled_in(
    run: Run, engine: Engine
) -> None:
    """§10 and issue 13.3: the organisation-wide list and `status --restaurant` too, not only
    one instance's detail; JSON keeps the configured zone (UTC) and names the zone."""
    write_template(
        "calls",
        "Calls between services",
        [step("Intro call", hours="14:30-17:00"), step("Follow up", delay_value=1)],
        schedule={"timezone": "restaurant", "days": ["mon", "tue", "wed", "thu", "fri"]},
    )
    ok(run("sync"))
    zones = {LUIGI: "Pacific/Auckland", SAKURA: "America/New_York"}
    with engine.begin() as conn:
        for restaurant, zone in zones.items():
            conn.execute(
                text(
                    "UPDATE restaurants SET metadata = COALESCE(metadata, '{}'::jsonb)"
                    " || jsonb_build_object('timezone', CAST(:zone AS text)) WHERE id = :id"
                ),
                {"id": restaurant, "zone": zone},
            )
    ok(run("apply", "--template", "calls", "--restaurant", LUIGI, "--restaurant", SAKURA))
    with engine.connect() as conn:
        due: dict[str, datetime] = dict(
            conn.execute(
                text(
                    "SELECT i.restaurant_id::text, t.due_date FROM tasks t JOIN "
                    "sequence_instances i ON i.id = t.sequence_instance_id "
                    "WHERE t.status = 'active'"
                )
            ).all()
        )
    shown = {}
    for restaurant, zone in zones.items():
        local = due[restaurant].astimezone(ZoneInfo(zone))
        assert time(14, 30) <= local.time() < time(17, 0)
        shown[restaurant] = f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
    assert shown[LUIGI].endswith(("NZDT", "NZST")) and shown[SAKURA].endswith(("EST", "EDT"))

    rows = ok(run("status")).stdout.splitlines()
    luigi = next(line for line in rows if "Luigi's Trattoria" in line)
    sakura = next(line for line in rows if "Sakura Sushi Bar" in line)
    assert shown[LUIGI] in luigi and shown[SAKURA] in sakura, rows
    assert "UTC" not in luigi and "UTC" not in sakura
    one = ok(run("status", "--restaurant", "Sakura Sushi Bar")).stdout
    assert shown[SAKURA] in one

    listed = json.loads(ok(run("status", "--format", "json")).stdout)["instances"]
    for row in listed:
        assert row["next_due"] == due[row["restaurant_id"]].astimezone(ZoneInfo("UTC")).isoformat()
        assert row["scheduled_in"] == zones[row["restaurant_id"]]

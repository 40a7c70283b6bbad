"""An organisation with known outcomes for the report, and the report recomputed in Python.

``build`` walks instances through the library at chosen moments (a frozen clock): completed,
skipped, cancelled and finished at chosen steps, paused, overdue and not yet overdue, one
started before the period, one task from before activation times were recorded.
``expected`` computes every figure of ``seqctl report --format json`` from the raw rows,
in Python, by the definitions of ``seqctl/report.py`` — not with the report's SQL.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text

from seqctl.runtime import lifecycle, progression
from seqctl.runtime.apply import apply_template

from .sequences_helpers import ALEX, SAM, S, demo_organisation, make_template, runtime_context

ONBOARDING = [S("Welcome email", 0, type="email"), S("Intro call", 1), S("Check in", 2)]
FOLLOW_UP = [S("Follow-up text", 0, type="text"), S("Recap email", 3, type="email")]
GRACE = timedelta(hours=1)
H = timedelta(hours=1)
D = timedelta(days=1)


@dataclass
class Scenario:
    now: datetime
    t0: datetime
    onboarding: str  # template ids
    follow_up: str
    instances: dict[str, str]  # label -> instance id


def _restaurants(engine: Engine, org: str, n: int) -> list[str]:
    with engine.begin() as conn:
        return list(
            conn.execute(
                text(
                    "INSERT INTO restaurants (organisation_id, name, city) SELECT CAST(:o AS uuid),"
                    " 'Report Restaurant ' || g, 'Wellington' FROM generate_series(1, :n) g"
                    " RETURNING id::text"
                ),
                {"o": org, "n": n},
            ).scalars()
        )


def _active_task(engine: Engine, instance_id: str) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text(
                    "SELECT id::text FROM tasks WHERE sequence_instance_id = :i"
                    " AND status = 'active'"
                ),
                {"i": instance_id},
            ).scalar_one()
        )


def build(
    engine: Engine,
    org: str,
    now: datetime,
    *,
    onboarding_name: str = "Onboarding",
    follow_up_name: str = "Follow-up",
) -> Scenario:
    """The scenario, its last action before ``now`` (T0 = now - 18 days)."""
    t0 = now - 18 * D
    onboarding = make_template(engine, org, onboarding_name, ONBOARDING, key="onboarding")
    follow_up = make_template(engine, org, follow_up_name, FOLLOW_UP, key="follow-up")
    restaurants = _restaurants(engine, org, 11)
    organisation = demo_organisation(org)
    ids: dict[str, str] = {}

    # label: template, restaurant, start, assignee, [(action, delay after the last action)]
    plan: list[tuple[str, str, int, timedelta, str, list[tuple[str, timedelta]]]] = [
        (
            "r1",
            onboarding,
            0,
            0 * D,
            ALEX,
            [("complete", H), ("complete", D + 3 * H), ("complete", 3 * D)],
        ),
        (
            "r2",
            onboarding,
            1,
            1 * D,
            ALEX,
            [("complete", 30 * timedelta(minutes=1)), ("complete", 20 * H), ("complete", 2 * D)],
        ),
        (
            "r3",
            onboarding,
            2,
            2 * D,
            SAM,
            [("complete", 2 * H), ("skip", D), ("complete", 2 * D + 5 * H)],
        ),
        ("r4", onboarding, 3, 3 * D, SAM, [("complete", H), ("cancel", 2 * D)]),
        ("r5", onboarding, 4, 4 * D, ALEX, [("complete", H), ("finish", H)]),
        ("r6", onboarding, 5, 7 * D, SAM, [("complete", H)]),
        ("r7", onboarding, 6, 8 * D, ALEX, [("pause", 5 * H)]),
        ("r8", onboarding, 7, 18 * D - 30 * timedelta(minutes=1), SAM, []),
        ("r9", onboarding, 8, -3 * D, ALEX, [("complete", H)]),  # before the period
        ("r10", onboarding, 9, 10 * D, ALEX, [("complete", 2 * H), ("complete", D)]),
        ("f1", follow_up, 0, 5 * D, SAM, [("complete", H)]),
        ("f2", follow_up, 10, 6 * D, ALEX, [("complete", 2 * H), ("complete", 4 * D)]),
    ]
    for label, template, restaurant, start, assignee, actions in plan:
        at = t0 + start
        with engine.begin() as conn:
            report = apply_template(
                runtime_context(conn, organisation, now=at),
                template,
                [restaurants[restaurant]],
                assign_to=assignee,
            )
        instance_id = report.outcomes[0].instance_id
        assert instance_id is not None
        ids[label] = instance_id
        for action, delay in actions:
            at += delay
            assert at <= now
            with engine.begin() as conn:
                if action in ("complete", "skip"):
                    fn = (
                        progression.complete_tasks
                        if action == "complete"
                        else progression.skip_tasks
                    )
                    fn(runtime_context(conn, org, now=at), [_active_task(engine, instance_id)])
                else:
                    lifecycle.transition(runtime_context(conn, org, now=at), [instance_id], action)
    # r10's step 2 was done before seqctl recorded activation times: it falls back
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE tasks SET metadata = metadata #- '{sequence,activated_at}'"
                " WHERE sequence_instance_id = :i AND sequence_step_order = 2"
            ),
            {"i": ids["r10"]},
        )
    return Scenario(now, t0, onboarding, follow_up, ids)


# -- the report, recomputed in Python from the rows ------------------------------------


def _percentile(values: Sequence[float], fraction: float) -> float | None:
    """PostgreSQL's percentile_cont: linear interpolation between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _rows(engine: Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql), params).mappings()]


def expected(
    engine: Engine,
    org: str,
    *,
    since: date,
    until: date,
    timezone: str,
    now: datetime,
    templates: Sequence[str] | None = None,
    assigned: str | None = None,
) -> dict[str, Any]:
    """The figures of the report's JSON (``templates``, ``assignees``, ``weeks``)."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(since, datetime.min.time(), zone)
    end = datetime.combine(until + timedelta(days=1), datetime.min.time(), zone)

    def in_period(moment: datetime | None) -> bool:
        return moment is not None and start <= moment < end

    all_templates = _rows(
        engine,
        "SELECT id::text AS id, name, metadata -> 'seqctl' ->> 'key' AS key, is_active"
        " FROM sequence_templates WHERE organisation_id = :o ORDER BY name, id",
        o=org,
    )
    steps = _rows(
        engine,
        "SELECT sequence_template_id::text AS tid, step_order, name FROM sequence_steps",
    )
    instances = _rows(
        engine,
        "SELECT id::text AS id, sequence_template_id::text AS tid, status, started_at,"
        " completed_at, cancelled_at, assigned_to::text AS assigned_to"
        " FROM sequence_instances WHERE organisation_id = :o",
        o=org,
    )
    tasks = _rows(
        engine,
        "SELECT sequence_instance_id::text AS iid, sequence_step_order AS step, name, status,"
        " due_date, completed_at, metadata, assigned_to::text AS assigned_to"
        " FROM tasks WHERE organisation_id = :o AND sequence_instance_id IS NOT NULL",
        o=org,
    )
    emails = {r["id"]: r for r in _rows(engine, "SELECT id::text AS id, email, name FROM profiles")}
    selected = set(templates) if templates else None
    if assigned is not None:
        instances = [i for i in instances if i["assigned_to"] == assigned]
    instances = [i for i in instances if selected is None or i["tid"] in selected]
    cohort = [i for i in instances if in_period(i["started_at"])]
    by_instance = {i["id"]: i for i in instances}
    overdue_before = now - GRACE

    result_templates = []
    for t in all_templates:
        mine = [i for i in cohort if i["tid"] == t["id"]]
        if selected is not None and t["id"] not in selected:
            continue
        if selected is None and not (t["is_active"] or mine):
            continue
        durations = [
            (i["completed_at"] - i["started_at"]).total_seconds()
            for i in mine
            if i["status"] == "completed"
        ]
        status = {
            s: sum(1 for i in mine if i["status"] == s)
            for s in ("active", "paused", "completed", "cancelled")
        }
        cohort_ids = {i["id"] for i in mine}
        mine_tasks = [k for k in tasks if k["iid"] in cohort_ids]
        orders = sorted(
            {k["step"] for k in mine_tasks}
            | {s["step_order"] for s in steps if s["tid"] == t["id"]}
        )
        step_rows: list[dict[str, Any]] = []
        for order in orders:
            at = [k for k in mine_tasks if k["step"] == order]
            names = [s["name"] for s in steps if s["tid"] == t["id"] and s["step_order"] == order]

            def seq(k: dict[str, Any], key: str) -> Any:
                return ((k["metadata"] or {}).get("sequence") or {}).get(key)

            def reached(k: dict[str, Any]) -> bool:
                if k["status"] in ("active", "completed"):
                    return True
                return k["status"] == "cancelled" and (
                    seq(k, "closed_by") is None
                    or k["due_date"] is not None
                    or seq(k, "activated_at") is not None
                )

            done = [k for k in at if k["status"] == "completed"]
            due_to_done = [
                (k["completed_at"] - k["due_date"]).total_seconds()
                for k in done
                if k["due_date"] is not None
            ]
            waited = []
            fallback = 0
            for k in done:
                activated = seq(k, "activated_at")
                if activated is not None:
                    waited.append(
                        (k["completed_at"] - datetime.fromisoformat(activated)).total_seconds()
                    )
                elif k["due_date"] is not None:
                    waited.append((k["completed_at"] - k["due_date"]).total_seconds())
                    fallback += 1
            step_rows.append(
                {
                    "order": order,
                    "name": names[0] if names else min(k["name"] for k in at),
                    "reached": sum(1 for k in at if reached(k)),
                    "completed": len(done),
                    "skipped": sum(
                        1 for k in at if k["status"] == "cancelled" and seq(k, "closed_by") is None
                    ),
                    "cancelled_with_instance": sum(
                        1
                        for k in at
                        if k["status"] == "cancelled"
                        and seq(k, "closed_by") is not None
                        and reached(k)
                    ),
                    "open": sum(1 for k in at if k["status"] == "active"),
                    "overdue": sum(
                        1
                        for k in at
                        if k["status"] == "active"
                        and by_instance[k["iid"]]["status"] == "active"
                        and k["due_date"] < overdue_before
                    ),
                    "median_due_to_done_seconds": _percentile(due_to_done, 0.5),
                    "median_waited_seconds": _percentile(waited, 0.5),
                    "wait_fallback": fallback,
                    "drop_off": None,
                    "drop_off_rate": None,
                }
            )
        for previous, step in zip(step_rows, step_rows[1:], strict=False):
            left = previous["reached"] - previous["open"]
            step["drop_off"] = max(0, left - step["reached"])
            step["drop_off_rate"] = step["drop_off"] / left if left > 0 else None
        result_templates.append(
            {
                "id": t["id"],
                "key": t["key"],
                "name": t["name"],
                "is_active": t["is_active"],
                "started": len(mine),
                **status,
                "completion_rate": status["completed"] / len(mine) if mine else None,
                "median_time_to_complete_seconds": _percentile(durations, 0.5),
                "p90_time_to_complete_seconds": _percentile(durations, 0.9),
                "steps": step_rows,
            }
        )

    # workload: every task of the selected templates' instances, by its assignee
    load: dict[str | None, dict[str, int]] = defaultdict(
        lambda: {"open": 0, "overdue": 0, "completed": 0}
    )
    for k in tasks:
        instance = by_instance.get(k["iid"])
        if instance is None or (assigned is not None and k["assigned_to"] != assigned):
            continue
        if k["status"] == "active":
            load[k["assigned_to"]]["open"] += 1
            if instance["status"] == "active" and k["due_date"] < overdue_before:
                load[k["assigned_to"]]["overdue"] += 1
        elif k["status"] == "completed" and in_period(k["completed_at"]):
            load[k["assigned_to"]]["completed"] += 1
    assignees = [
        {
            "user_id": user,
            "email": emails[user]["email"] if user in emails else None,
            "name": emails[user]["name"] if user in emails else None,
            **figures,
        }
        for user, figures in load.items()
    ]

    # weeks (Monday, local) of the period: instance events in the period
    first_monday = since - timedelta(days=since.weekday())
    weeks: dict[date, dict[str, int]] = {}
    monday = first_monday
    while monday <= until:
        weeks[monday] = {"starts": 0, "completions": 0, "cancellations": 0}
        monday += timedelta(weeks=1)

    def week_of(moment: datetime) -> date:
        day = moment.astimezone(zone).date()
        return day - timedelta(days=day.weekday())

    for i in instances:
        for column, figure in (
            ("started_at", "starts"),
            ("completed_at", "completions"),
            ("cancelled_at", "cancellations"),
        ):
            if in_period(i[column]):
                weeks[week_of(i[column])][figure] += 1
    return {
        "templates": result_templates,
        "assignees": assignees,
        "weeks": [{"start": d.isoformat(), **f} for d, f in sorted(weeks.items())],
    }


FROZEN_NOW = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)  # a Friday; T0 is Monday 2026-03-02


def approx(value: Any) -> Any:
    """Floats compared to the microsecond (epoch seconds from the database)."""
    if isinstance(value, float):
        return pytest.approx(value, abs=1e-6)
    if isinstance(value, dict):
        return {k: approx(v) for k, v in value.items()}
    if isinstance(value, list):
        return [approx(v) for v in value]
    return value


def assert_matches(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got["templates"] == approx(want["templates"])
    assert got["weeks"] == want["weeks"]
    key = lambda a: str(a["user_id"])  # noqa: E731
    assert sorted(got["assignees"], key=key) == sorted(want["assignees"], key=key)
    # busiest first: overdue, then open, then completed
    order = [(-a["overdue"], -a["open"], -a["completed"]) for a in got["assignees"]]
    assert order == sorted(order)

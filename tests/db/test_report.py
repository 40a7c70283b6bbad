"""`seqctl report`'s numbers: a scenario with known outcomes at a frozen clock; every JSON
figure equals the one recomputed in Python from the rows (``report_scenario.expected``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from seqctl.db.connection import Database
from seqctl.errors import DatabaseError, DatabaseUnavailable, NotFound, UsageError
from seqctl.pg import Tx
from seqctl.runtime.report import SECOND_SHARE, SecondReader, build_report
from seqctl.runtime.report_formats import report_json

from .report_scenario import FROZEN_NOW, Scenario, assert_matches, build, expected
from .sequences_helpers import ALEX, SAM, demo_organisation
from .statements import captured

SINCE = date(2026, 3, 2)
UNTIL = date(2026, 3, 22)


@pytest.fixture
def scenario(engine: Engine, demo_org: str) -> Scenario:
    return build(engine, demo_org, FROZEN_NOW)


def report(engine: Engine, org: str, *, beside: bool = False, **kw: Any) -> dict[str, Any]:
    """The report's json; ``beside``: built as ``seqctl report`` builds it, on two
    connections reading one snapshot."""
    if beside:
        db = database(engine)
        return in_snapshot(db, org, lambda snapshot: db.transaction(snapshot_id=snapshot), **kw)
    kw.setdefault("since", SINCE)
    kw.setdefault("until", UNTIL)
    with engine.begin() as conn:
        return report_json(build_report(conn, demo_organisation(org), now=FROZEN_NOW, **kw))


def database(engine: Engine) -> Database:
    return Database(None, engine.url.render_as_string(hide_password=False))


def in_snapshot(
    db: Database, org: str, second: SecondReader, *, snapshot: bool = True, **kw: Any
) -> dict[str, Any]:
    """The report's json, built in a (``snapshot``: REPEATABLE READ) psycopg transaction,
    with ``second`` to open its second connection."""
    kw.setdefault("since", SINCE)
    kw.setdefault("until", UNTIL)
    with db.transaction(snapshot=snapshot) as conn:
        return report_json(
            build_report(conn, demo_organisation(org), now=FROZEN_NOW, second=second, **kw)
        )


def same_figures(got: dict[str, Any], want: dict[str, Any]) -> bool:
    return got == {**want, "generated_at": got["generated_at"]}


def test_known_outcomes(engine: Engine, demo_org: str, scenario: Scenario) -> None:
    got = report(engine, demo_org)
    follow_up, onboarding = got["templates"]  # by name
    assert (onboarding["name"], follow_up["name"]) == ("Onboarding", "Follow-up")
    # r1..r8 and r10 started in the period (r9 before it)
    assert onboarding["started"] == 9
    assert (onboarding["active"], onboarding["paused"]) == (3, 1)  # r6 r8 r10; r7
    assert (onboarding["completed"], onboarding["cancelled"]) == (4, 1)  # r1 r2 r3 r5; r4
    assert onboarding["completion_rate"] == pytest.approx(4 / 9)
    s1, s2, s3 = onboarding["steps"]
    assert [s["name"] for s in (s1, s2, s3)] == ["Welcome email", "Intro call", "Check in"]
    assert s1["reached"] == 9 and s1["open"] == 2  # r7 (paused) and r8 (just started)
    assert s1["overdue"] == 0  # r7 is paused; r8 is within the grace period
    assert (s2["skipped"], s2["cancelled_with_instance"]) == (1, 1)  # r3; r4
    assert s2["overdue"] == 1 and s3["overdue"] == 1  # r6; r10
    assert s2["wait_fallback"] == 1 and got["wait_fallback"] == 1  # r10's legacy task
    # r1, r2, r3 and r5 (finish: its step 3 cancelled, never reached) left step 2 ...
    assert s3["reached"] == 4  # r1 r2 r3 r10
    assert s3["drop_off"] == 2 and s3["drop_off_rate"] == pytest.approx(2 / 6)  # r4 r5
    # r1 took 1h + 1d3h + 3d to complete; r2 30m + 20h + 2d; r3 2h + 1d + 2d5h; r5 2h
    assert onboarding["median_time_to_complete_seconds"] == pytest.approx(
        ((2 * 24 + 20.5) * 3600 + (3 * 24 + 7) * 3600) / 2
    )
    assert follow_up["started"] == 2 and follow_up["completed"] == 1


@pytest.mark.parametrize("beside", [False, True], ids=["one-connection", "two-connections"])
@pytest.mark.parametrize(
    ("timezone", "assigned", "templates"),
    [
        ("UTC", None, None),
        ("Pacific/Auckland", None, None),
        ("America/Los_Angeles", None, None),
        ("UTC", ALEX, None),
        ("UTC", None, ["onboarding"]),
    ],
)
def test_every_json_figure_equals_the_recomputed_one(
    engine: Engine,
    demo_org: str,
    scenario: Scenario,
    timezone: str,
    assigned: str | None,
    templates: list[str] | None,
    beside: bool,
) -> None:
    got = report(
        engine,
        demo_org,
        beside=beside,
        timezone=timezone,
        assigned_to=assigned,
        templates=templates or [],
    )
    ids = {"onboarding": scenario.onboarding}
    want = expected(
        engine,
        demo_org,
        since=SINCE,
        until=UNTIL,
        timezone=timezone,
        now=FROZEN_NOW,
        templates=[ids[t] for t in templates] if templates else None,
        assigned=assigned,
    )
    assert_matches(got, want)
    assert got["period"] == {"since": "2026-03-02", "until": "2026-03-22", "timezone": timezone}


def test_a_shorter_period_and_its_weeks(engine: Engine, demo_org: str, scenario: Scenario) -> None:
    since, until = date(2026, 3, 4), date(2026, 3, 10)  # Wednesday to Tuesday: two weeks
    got = report(engine, demo_org, since=since, until=until, timezone="Europe/Berlin")
    want = expected(
        engine, demo_org, since=since, until=until, timezone="Europe/Berlin", now=FROZEN_NOW
    )
    assert_matches(got, want)
    assert [w["start"] for w in got["weeks"]] == ["2026-03-02", "2026-03-09"]


def test_default_period_is_twelve_weeks_from_a_monday(
    engine: Engine, demo_org: str, scenario: Scenario
) -> None:
    with engine.begin() as conn:
        result = build_report(conn, demo_organisation(demo_org), now=FROZEN_NOW)
    assert result.period.until == date(2026, 3, 20)
    assert result.period.since == date(2025, 12, 29)  # a Monday, 11 weeks before 2026-03-16
    assert result.period.since.weekday() == 0
    assert len(result.weeks) == 12


def test_a_fixed_number_of_queries(engine: Engine, demo_org: str, scenario: Scenario) -> None:
    counts: dict[bool, int] = {}
    for beside in (False, True):
        with captured(engine) as first:
            report(engine, demo_org, beside=beside)
        counts[beside] = len(first)
    build(engine, demo_org, FROZEN_NOW, onboarding_name="Second", follow_up_name="Third")
    for beside in (False, True):
        with captured(engine) as statements:
            report(engine, demo_org, beside=beside)
        # twice the templates and instances, the same statements
        assert len(statements) == counts[beside]
        # the templates' and the funnel's times (percentile_cont), the weeks (generate_series)
        assert sum("percentile_cont" in s or "generate_series" in s for s, _ in statements) == 3
    # the clock, its settings, a catalog query, 5 aggregates; on two connections also the
    # snapshot's export and import and the second connection's settings
    assert counts[False] <= 9 and counts[True] <= counts[False] + 3


def test_empty_organisation(engine: Engine, demo_org: str) -> None:
    got = report(engine, demo_org)
    assert got["templates"] == [] and got["assignees"] == []
    assert len(got["weeks"]) == 3 and all(w["starts"] == 0 for w in got["weeks"])


def test_inactive_template_without_starts_is_left_out_unless_asked_for(
    engine: Engine, demo_org: str, scenario: Scenario
) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE sequence_templates SET is_active = false WHERE id = :t"),
            {"t": scenario.follow_up},
        )
    assert [t["name"] for t in report(engine, demo_org)["templates"]] == ["Follow-up", "Onboarding"]
    late = report(engine, demo_org, since=date(2026, 3, 16))
    assert [t["name"] for t in late["templates"]] == ["Onboarding"]  # no follow-up starts
    asked = report(engine, demo_org, since=date(2026, 3, 16), templates=["follow-up"])
    assert [(t["name"], t["started"], t["is_active"]) for t in asked["templates"]] == [
        ("Follow-up", 0, False)
    ]


def test_bad_filters(engine: Engine, demo_org: str, scenario: Scenario) -> None:
    with pytest.raises(UsageError, match="after --until"):
        report(engine, demo_org, since=UNTIL, until=SINCE)
    with pytest.raises(NotFound, match="no sequence template 'onbaording'"):
        report(engine, demo_org, templates=["onbaording"])
    with pytest.raises(NotFound, match="no user"):
        report(engine, demo_org, assigned_to="nobody@demo.example")
    with pytest.raises(UsageError, match="ten years"):
        report(engine, demo_org, since=SINCE - timedelta(days=4000))


def test_assignees_by_email(engine: Engine, demo_org: str, scenario: Scenario) -> None:
    got = report(engine, demo_org, assigned_to="SAM@demo.example")
    assert {a["user_id"] for a in got["assignees"]} == {SAM}
    assert got["filters"]["assigned_to"] == SAM


def test_the_second_connection_reads_the_reports_snapshot(
    engine: Engine, demo_org: str, scenario: Scenario
) -> None:
    """The queries on the second connection (the funnel's counts, the assignees) see the data
    as the first one does, even when another transaction commits between the two: the second
    connection imports the first one's snapshot."""
    assert SECOND_SHARE == ("funnel", "assignees")
    db = database(engine)

    def second(snapshot: str) -> Any:
        # every active instance cancelled, and committed, after the report's snapshot...
        with engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE sequence_instances SET status = 'cancelled', cancelled_at = now()"
                    " WHERE organisation_id = :org AND status = 'active'"
                ),
                {"org": demo_org},
            )
        return db.transaction(snapshot_id=snapshot)

    def overdue(document: dict[str, Any]) -> tuple[int, int]:
        """Overdue tasks (on active instances only) by step and by assignee."""
        by_step = sum(s["overdue"] for t in document["templates"] for s in t["steps"])
        return by_step, sum(a["overdue"] for a in document["assignees"])

    before = report(engine, demo_org)
    got = in_snapshot(db, demo_org, second)
    after = report(engine, demo_org)
    # ... is not in the figures the second connection computed
    assert overdue(after) == (0, 0) and 0 not in overdue(before)
    assert overdue(got) == overdue(before)
    assert same_figures(got, before)


def test_without_a_second_connection_the_report_runs_on_one(
    engine: Engine, demo_org: str, scenario: Scenario
) -> None:
    """A second connection refused (a full pool, say), or one where the snapshot is unknown
    (a pooler that sent it to another server), is no failure: the five queries run one after
    the other on the report's connection. A query failing over there, or a bug, is the
    report's error."""
    db = database(engine)
    want = report(engine, demo_org)

    def refused(snapshot: str) -> Any:
        raise DatabaseUnavailable("too many connections")

    def unknown_snapshot(snapshot: str) -> Any:
        return db.transaction(snapshot_id="00000003-0000001B-1")

    def broken(snapshot: str) -> Any:
        raise RuntimeError("a bug beside")

    class AssigneesFail(Tx):
        def rows(self, query: Any, params: Any = None) -> list[Any]:
            if "WITH load AS" in str(query):  # the assignees' query, on this side
                return super().rows("SELECT 1 / 0")
            return super().rows(query, params)

    @contextlib.contextmanager
    def failing_query(snapshot: str) -> Iterator[Any]:
        with db.transaction(snapshot_id=snapshot) as conn:
            yield AssigneesFail(conn.driver)

    with captured(engine) as statements:
        assert same_figures(in_snapshot(db, demo_org, refused), want)
    run = [statement for statement, _ in statements]
    reset = run.index("SET LOCAL max_parallel_workers_per_gather TO DEFAULT")
    # the second share, now here, with parallel workers allowed again
    assert reset < next(i for i, s in enumerate(run) if "WITH load AS" in s)
    assert same_figures(in_snapshot(db, demo_org, unknown_snapshot), want)
    with pytest.raises(RuntimeError, match="a bug beside"):
        in_snapshot(db, demo_org, broken)
    with pytest.raises(DatabaseError, match="division by zero"):
        in_snapshot(db, demo_org, failing_query)


def test_no_second_connection_outside_a_snapshot(
    engine: Engine, demo_org: str, scenario: Scenario
) -> None:
    """In a READ COMMITTED transaction each query sees its own moment: two connections could
    disagree, so the report stays on one."""
    asked: list[str] = []

    def second(snapshot: str) -> Any:
        asked.append(snapshot)
        raise AssertionError("not to be called")

    got = in_snapshot(database(engine), demo_org, second, snapshot=False)
    assert asked == []
    assert same_figures(got, report(engine, demo_org))

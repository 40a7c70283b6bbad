"""`seqctl report` (§11): per-template funnels, assignee workload and a weekly series.

Five aggregate queries, whatever the size of the organisation (no per-instance query):

1. per template: instances started in the period and what became of them;
2. per template step: the funnel's counts over those instances' tasks;
3. per template step: the funnel's times (medians) over their completed tasks;
4. per assignee: open and overdue tasks now, tasks completed in the period;
5. per week of the period: starts, completions, cancellations.

``seqctl report`` runs them on two connections at once (see :func:`build_report`): the
funnel's times, the templates and the weeks on its own; the funnel's counts and the
assignees on a second one that imports its snapshot, so both read the same data.

Definitions (the numbers a reviewer can check):

- The period is ``since`` … ``until`` inclusive, whole days in the configured time zone
  (default: the 12 weeks ending today, from a Monday). Weeks start on Monday.
- A template's *started* instances are those started in the period; *active*, *paused*,
  *completed* and *cancelled* are what they are now; the completion rate is completed /
  started; the time to completion (median, 90th percentile) is ``completed_at -
  started_at`` of the completed ones.
- The funnel is over the tasks of those instances, per step (``sequence_step_order``). A
  step is *reached* when its task was ever activated (it is active, completed, or cancelled
  after activation); reached = completed + skipped + cancelled with the instance + open.
  *Skipped*: cancelled by ``task skip`` (or by another client); *cancelled with the
  instance*: its instance was cancelled while the step was the active one. *Overdue now*:
  open, past its due date, on an active (not paused) instance. *Due to done*: the median of
  ``completed_at - due_date`` (negative: done early). *Waited*: the median of
  ``completed_at - metadata.sequence.activated_at``; tasks activated before seqctl recorded
  that fall back to their due date, and ``wait_fallback`` counts them. *Drop-off*: the
  instances that left the previous step (reached it, no longer open there) but never
  reached this one: ``reached[k-1] - open[k-1] - reached[k]``; its rate is over those that
  left the previous step. (Instances still at a step are not counted as dropped.)
- *Overdue*: past the due date by more than the grace period (``overdue_after``, one hour
  by default, §8), so a zero-delay first step is not overdue right after ``apply``.
- Workload: tasks of the selected templates' instances, by ``tasks.assigned_to``.
  ``--assigned-to U`` keeps instances assigned to U and U's tasks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ..config import DEFAULT_TIMEZONE
from ..db.crm_columns import PROFILE_NAME, crm_columns
from ..errors import SeqctlError, UsageError
from ..pg import Connection, Tx, tx
from .clock import begin_clock, local_date
from .lookup import Organisation, resolve_template, resolve_user

DEFAULT_WEEKS = 12
OVERDUE_AFTER = timedelta(hours=1)  # §8's default grace period
MAX_DAYS = 3660  # ten years of weekly rows at most


@dataclass(frozen=True)
class Period:
    since: date  # first day, inclusive
    until: date  # last day, inclusive
    timezone: str

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1


@dataclass
class StepFunnel:
    order: int
    name: str
    reached: int = 0
    completed: int = 0
    skipped: int = 0
    cancelled: int = 0  # with their instance
    open: int = 0
    overdue: int = 0
    median_due_to_done: float | None = None  # seconds
    median_waited: float | None = None  # seconds, activation to completion
    wait_fallback: int = 0  # completed tasks whose wait rests on the due date
    drop_off: int | None = None  # left the previous step and never reached this one
    drop_off_rate: float | None = None  # drop_off / those that left the previous step


@dataclass
class TemplateReport:
    id: str
    name: str
    key: str | None
    is_active: bool
    started: int = 0
    active: int = 0
    paused: int = 0
    completed: int = 0
    cancelled: int = 0
    median_time_to_complete: float | None = None  # seconds
    p90_time_to_complete: float | None = None  # seconds
    steps: list[StepFunnel] = field(default_factory=list)

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.started if self.started else None


@dataclass(frozen=True)
class AssigneeLoad:
    user_id: str | None  # None: unassigned tasks
    email: str | None
    name: str | None
    open: int
    overdue: int
    completed: int  # in the period


@dataclass(frozen=True)
class Week:
    start: date  # its Monday
    starts: int
    completions: int
    cancellations: int


@dataclass
class Report:
    organisation: Organisation
    period: Period
    generated_at: datetime
    template_filter: list[str]
    assigned_to: str | None  # user id of --assigned-to
    templates: list[TemplateReport]
    assignees: list[AssigneeLoad]
    weeks: list[Week]

    @property
    def wait_fallback(self) -> int:
        """How many "waited" figures rest on a due date instead of a recorded activation."""
        return sum(s.wait_fallback for t in self.templates for s in t.steps)


def parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{option} {value!r} is not a date",
            hint=f"give {option} as YYYY-MM-DD, e.g. {option} 2026-01-05",
        ) from None


def default_period(today: date, since: date | None, until: date | None, timezone: str) -> Period:
    """The period asked for; by default the 12 weeks (from a Monday) ending ``until``."""
    last = until or today
    first = since or (last - timedelta(days=last.weekday()) - timedelta(weeks=DEFAULT_WEEKS - 1))
    if first > last:
        raise UsageError(
            f"--since {first.isoformat()} is after --until {last.isoformat()}",
            hint="give a --since on or before --until",
        )
    if (last - first).days >= MAX_DAYS:
        raise UsageError(
            f"the period {first.isoformat()} … {last.isoformat()} is longer than ten years",
            hint="give a shorter period with --since and --until",
        )
    return Period(first, last, timezone)


# -- the four aggregate queries --------------------------------------------------------

_COHORT = """
  SELECT si.id, si.sequence_template_id AS tid, si.status, si.started_at, si.completed_at
  FROM sequence_instances si
  WHERE si.organisation_id = CAST(:org AS uuid)
    AND si.started_at >= CAST(:since AS timestamptz) AND si.started_at < CAST(:until AS timestamptz)
    AND (CAST(:tids AS uuid[]) IS NULL OR si.sequence_template_id = ANY(CAST(:tids AS uuid[])))
    AND (CAST(:assigned AS uuid) IS NULL OR si.assigned_to = CAST(:assigned AS uuid))
"""

TEMPLATES_SQL = (
    "WITH cohort AS (" + _COHORT + "), agg AS ("
    "  SELECT tid, count(*) AS started,"
    "  count(*) FILTER (WHERE status = 'active') AS active,"
    "  count(*) FILTER (WHERE status = 'paused') AS paused,"
    "  count(*) FILTER (WHERE status = 'completed') AS completed,"
    "  count(*) FILTER (WHERE status = 'cancelled') AS cancelled,"
    "  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - started_at))"
    "    FILTER (WHERE status = 'completed') AS median_time_to_complete,"
    "  percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - started_at))"
    "    FILTER (WHERE status = 'completed') AS p90_time_to_complete"
    "  FROM cohort GROUP BY tid"
    ") SELECT st.id::text AS id, st.name, st.metadata -> 'seqctl' ->> 'key' AS key,"
    " st.is_active, COALESCE(agg.started, 0) AS started, COALESCE(agg.active, 0) AS active,"
    " COALESCE(agg.paused, 0) AS paused, COALESCE(agg.completed, 0) AS completed,"
    " COALESCE(agg.cancelled, 0) AS cancelled, agg.median_time_to_complete,"
    " agg.p90_time_to_complete"
    " FROM sequence_templates st LEFT JOIN agg ON agg.tid = st.id"
    " WHERE st.organisation_id = CAST(:org AS uuid) AND CASE"
    "  WHEN CAST(:tids AS uuid[]) IS NULL THEN st.is_active OR agg.tid IS NOT NULL"
    "  ELSE st.id = ANY(CAST(:tids AS uuid[])) END"
    " ORDER BY st.name, st.id"
)

# Cheap per-row tests (key existence) for the million-row pass; the activation time is
# parsed only for completed tasks. Medians come from arrays aggregated by hashing (no sort
# of all tasks), each group's values sorted on their own.
_SEQ = "t.metadata -> 'sequence'"
_CLOSED = f"COALESCE({_SEQ} ? 'closed_by', false)"
_ACTIVATED = f"COALESCE({_SEQ} ? 'activated_at', false)"
_REACHED = (
    f"(t.status IN ('active', 'completed') OR (t.status = 'cancelled'"
    f" AND (NOT {_CLOSED} OR t.due_date IS NOT NULL OR {_ACTIVATED})))"
)

# The funnel's counts: every task of the cohort, per step, with the step's name.
FUNNEL_SQL = (
    "WITH cohort AS (" + _COHORT + "), agg AS ("
    "  SELECT c.tid, t.sequence_step_order AS step,"
    f"  count(*) FILTER (WHERE {_REACHED}) AS reached,"
    "  count(*) FILTER (WHERE t.status = 'completed') AS completed,"
    f"  count(*) FILTER (WHERE t.status = 'cancelled' AND NOT {_CLOSED}) AS skipped,"
    f"  count(*) FILTER (WHERE t.status = 'cancelled' AND {_CLOSED} AND {_REACHED}) AS cancelled,"
    "  count(*) FILTER (WHERE t.status = 'active') AS open,"
    "  count(*) FILTER (WHERE t.status = 'active' AND c.status = 'active'"
    "    AND t.due_date < CAST(:overdue_before AS timestamptz)) AS overdue"
    "  FROM cohort c JOIN tasks t ON t.sequence_instance_id = c.id"
    "  WHERE t.sequence_step_order IS NOT NULL"
    "  GROUP BY c.tid, t.sequence_step_order"
    "), steps AS ("
    "  SELECT ss.sequence_template_id AS tid, ss.step_order AS step, ss.name"
    "  FROM sequence_steps ss JOIN sequence_templates st ON st.id = ss.sequence_template_id"
    "  WHERE st.organisation_id = CAST(:org AS uuid)"
    "  AND (CAST(:tids AS uuid[]) IS NULL OR st.id = ANY(CAST(:tids AS uuid[])))"
    ") SELECT COALESCE(agg.tid, steps.tid)::text AS tid, COALESCE(agg.step, steps.step) AS step,"
    " COALESCE(steps.name, ("
    # a step no longer in the template: the name its tasks were given
    "   SELECT t.name FROM sequence_instances si JOIN tasks t ON t.sequence_instance_id = si.id"
    "   WHERE si.sequence_template_id = agg.tid AND t.sequence_step_order = agg.step"
    "   ORDER BY t.name LIMIT 1"
    " )) AS name,"
    " COALESCE(agg.reached, 0) AS reached,"
    " COALESCE(agg.completed, 0) AS completed, COALESCE(agg.skipped, 0) AS skipped,"
    " COALESCE(agg.cancelled, 0) AS cancelled, COALESCE(agg.open, 0) AS open,"
    " COALESCE(agg.overdue, 0) AS overdue"
    " FROM agg FULL JOIN steps ON steps.tid = agg.tid AND steps.step = agg.step"
    " ORDER BY 1, 2"
)

# The funnel's times: the completed tasks of the cohort, per step. Apart from the counts
# (FUNNEL_SQL) so that the two, each about half the work, run at the same time on the
# report's two connections (build_report).
WAITS_SQL = (
    "WITH cohort AS (" + _COHORT + "), agg AS ("
    "  SELECT c.tid, t.sequence_step_order AS step,"
    f"  count(*) FILTER (WHERE t.due_date IS NOT NULL AND NOT {_ACTIVATED}) AS wait_fallback,"
    "  array_agg(date_part('epoch', t.completed_at - t.due_date))"
    "    FILTER (WHERE t.due_date IS NOT NULL) AS due_to_done,"
    "  array_agg(date_part('epoch', t.completed_at - COALESCE("
    f"    CAST({_SEQ} ->> 'activated_at' AS timestamptz), t.due_date)))"
    f"    FILTER (WHERE t.due_date IS NOT NULL OR {_ACTIVATED}) AS waited"
    "  FROM cohort c JOIN tasks t ON t.sequence_instance_id = c.id"
    "  WHERE t.sequence_step_order IS NOT NULL AND t.status = 'completed'"
    "  GROUP BY c.tid, t.sequence_step_order"
    ") SELECT tid::text AS tid, step, wait_fallback,"
    " (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FROM unnest(due_to_done) v)"
    "   AS median_due_to_done,"
    " (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FROM unnest(waited) v)"
    "   AS median_waited"
    " FROM agg"
)

ASSIGNEES_SQL = (
    "WITH load AS ("
    "  SELECT t.assigned_to,"
    "  count(*) FILTER (WHERE t.status = 'active') AS open,"
    "  count(*) FILTER (WHERE t.status = 'active' AND si.status = 'active'"
    "    AND t.due_date < CAST(:overdue_before AS timestamptz)) AS overdue,"
    "  count(*) FILTER (WHERE t.status = 'completed') AS completed"
    "  FROM tasks t JOIN sequence_instances si ON si.id = t.sequence_instance_id"
    "  WHERE si.organisation_id = CAST(:org AS uuid)"
    "  AND (CAST(:tids AS uuid[]) IS NULL OR si.sequence_template_id = ANY(CAST(:tids AS uuid[])))"
    "  AND (CAST(:assigned AS uuid) IS NULL OR t.assigned_to = CAST(:assigned AS uuid))"
    "  AND (t.status = 'active' OR (t.status = 'completed'"
    "    AND t.completed_at >= CAST(:since AS timestamptz)"
    "    AND t.completed_at < CAST(:until AS timestamptz)))"
    "  GROUP BY t.assigned_to"
    ") SELECT load.assigned_to::text AS user_id, p.email, {name} AS name, load.open,"
    " load.overdue, load.completed"
    " FROM load LEFT JOIN profiles p ON p.id = load.assigned_to"  # readable under RLS
    " ORDER BY load.overdue DESC, load.open DESC, load.completed DESC, p.email NULLS LAST,"
    " user_id NULLS LAST"
)

# Three cheap scans of the selected instances (a CTE read once) instead of one scan
# expanding every instance into three events.
WEEKS_SQL = (
    "WITH si AS ("
    "  SELECT si.started_at, si.completed_at, si.cancelled_at FROM sequence_instances si"
    "  WHERE si.organisation_id = CAST(:org AS uuid)"
    "  AND (CAST(:tids AS uuid[]) IS NULL OR si.sequence_template_id = ANY(CAST(:tids AS uuid[])))"
    "  AND (CAST(:assigned AS uuid) IS NULL OR si.assigned_to = CAST(:assigned AS uuid))"
    "), ev AS ("
    "  SELECT date_trunc('week', started_at) AS wk, 's' AS kind FROM si"
    "  WHERE started_at >= CAST(:since AS timestamptz) AND started_at < CAST(:until AS timestamptz)"
    "  UNION ALL SELECT date_trunc('week', completed_at), 'c' FROM si"
    "  WHERE completed_at >= CAST(:since AS timestamptz)"
    "  AND completed_at < CAST(:until AS timestamptz)"
    "  UNION ALL SELECT date_trunc('week', cancelled_at), 'x' FROM si"
    "  WHERE cancelled_at >= CAST(:since AS timestamptz)"
    "  AND cancelled_at < CAST(:until AS timestamptz)"
    "), weeks AS ("
    "  SELECT generate_series(date_trunc('week', CAST(:since AS timestamptz)),"
    "  CAST(:until AS timestamptz) - interval '1 microsecond', interval '1 week') AS wk"
    "), counted AS ("
    "  SELECT wk, count(*) FILTER (WHERE kind = 's') AS starts,"
    "  count(*) FILTER (WHERE kind = 'c') AS completions,"
    "  count(*) FILTER (WHERE kind = 'x') AS cancellations FROM ev GROUP BY wk"
    ") SELECT CAST(weeks.wk AS date) AS start, COALESCE(counted.starts, 0) AS starts,"
    " COALESCE(counted.completions, 0) AS completions,"
    " COALESCE(counted.cancellations, 0) AS cancellations"
    " FROM weeks LEFT JOIN counted ON counted.wk = weeks.wk ORDER BY weeks.wk"
)


def report_queries(conn: Connection) -> dict[str, str]:
    """The five aggregate queries by name (the assignees' with the CRM's profile name)."""
    return {
        "waits": WAITS_SQL,
        "templates": TEMPLATES_SQL,
        "funnel": FUNNEL_SQL,
        "assignees": ASSIGNEES_SQL.format(name=crm_columns(conn).expression("p", *PROFILE_NAME)),
        "weeks": WEEKS_SQL,
    }


SecondReader = Callable[[str], AbstractContextManager[Tx]]
"""Given the id of a snapshot the report's transaction exported, a read-only transaction on
a second connection that reads that same snapshot, under the same row level security (the
CLI's: ``Database.transaction(as_user=…, snapshot_id=…)``)."""


def build_report(
    conn: Connection,
    organisation: Organisation,
    *,
    templates: Sequence[str] = (),
    since: date | None = None,
    until: date | None = None,
    assigned_to: str | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    now: datetime | None = None,
    overdue_after: timedelta = OVERDUE_AFTER,
    second: SecondReader | None = None,
) -> Report:
    """The report of the organisation's sequences over a period (see the module's text).

    With ``second``, and ``conn`` in a REPEATABLE READ transaction, the five queries share
    two connections, each about half the work: ``conn`` exports its snapshot, and the
    second connection, importing it, runs its share at the same time (in a thread): the
    same figures, one consistent view, in about half the time on a server with two cores
    to spare. Without ``second`` (or in a READ COMMITTED transaction, where two connections
    could see different moments), or when the second connection cannot be had in that
    snapshot, the five run one after the other on ``conn``.
    """
    now = begin_clock(conn, timezone, now)
    period = default_period(local_date(now, timezone), since, until, timezone)
    template_ids = sorted({resolve_template(conn, organisation.id, t).id for t in templates})
    assigned = resolve_user(conn, assigned_to) if assigned_to is not None else None
    current = tx(conn)
    isolation = current.one(
        _SETTINGS_SQL + ", current_setting('transaction_isolation') AS isolation"
    ).isolation
    params: dict[str, Any] = {
        "org": organisation.id,
        "tids": template_ids or None,
        "assigned": assigned,
        "now": now,
        "overdue_before": now - overdue_after,
        # midnight in the session's time zone (begin_clock set it)
        "since": period.since.isoformat(),
        "until": (period.until + timedelta(days=1)).isoformat(),
    }
    queries = report_queries(conn)
    if second is not None and isolation in ("repeatable read", "serializable"):
        rows = _on_two_connections(current, second, timezone, queries, params)
    else:
        rows = _run(current, queries, params)
    found = [
        TemplateReport(
            r.id,
            r.name,
            r.key,
            bool(r.is_active),
            r.started,
            r.active,
            r.paused,
            r.completed,
            r.cancelled,
            _seconds(r.median_time_to_complete),
            _seconds(r.p90_time_to_complete),
        )
        for r in rows["templates"]
    ]
    by_id = {t.id: t for t in found}
    waits = {(r.tid, r.step): r for r in rows["waits"]}
    for r in rows["funnel"]:
        report = by_id.get(r.tid)
        if report is None:  # an inactive template without starts in the period
            continue
        wait = waits.get((r.tid, r.step))
        report.steps.append(
            StepFunnel(
                r.step,
                r.name,
                r.reached,
                r.completed,
                r.skipped,
                r.cancelled,
                r.open,
                r.overdue,
                None if wait is None else _seconds(wait.median_due_to_done),
                None if wait is None else _seconds(wait.median_waited),
                0 if wait is None else wait.wait_fallback,
            )
        )
    for report in found:
        for previous, step in zip(report.steps, report.steps[1:], strict=False):
            left = previous.reached - previous.open  # instances that moved past the previous step
            step.drop_off = max(0, left - step.reached)
            step.drop_off_rate = step.drop_off / left if left > 0 else None
    assignees = [
        AssigneeLoad(r.user_id, r.email, r.name, r.open, r.overdue, r.completed)
        for r in rows["assignees"]
    ]
    weeks = [Week(r.start, r.starts, r.completions, r.cancellations) for r in rows["weeks"]]
    return Report(organisation, period, now, list(templates), assigned, found, assignees, weeks)


# read-only aggregates: no JIT (its compile time exceeded the queries' own), and memory
# enough for the hash aggregates of a million tasks without spilling to disk
_SETTINGS_SQL = (
    "SELECT set_config('jit', 'off', true) AS jit, set_config('work_mem', '64MB', true) AS mem"
)
# on two connections side by side, no parallel workers: on the same cores they only slowed
# the two down (bench/bench_report.py: 1.25 s instead of 1.0 s on two cores)
_NO_WORKERS = "set_config('max_parallel_workers_per_gather', '0', true) AS workers"

# The five aggregate queries, as two connections share them: each side about half the work.
FIRST_SHARE = ("waits", "templates", "weeks")  # on the report's connection
SECOND_SHARE = ("funnel", "assignees")  # on the second one, at the same time


def _run(current: Tx, queries: dict[str, str], params: dict[str, Any]) -> dict[str, list[Any]]:
    """Each query's rows, by name, one after the other."""
    return {name: current.rows(query, params) for name, query in queries.items()}


def _on_two_connections(
    current: Tx,
    second: SecondReader,
    timezone: str,
    queries: dict[str, str],
    params: dict[str, Any],
) -> dict[str, list[Any]]:
    """Each query's rows, by name: the first share on ``current``, the second share at the
    same time on the second connection, in ``current``'s snapshot."""
    snapshot = current.scalar(f"SELECT pg_export_snapshot() AS snapshot, {_NO_WORKERS}")
    beside = _Beside(second, snapshot, timezone, {n: queries[n] for n in SECOND_SHARE}, params)
    beside.start()
    try:
        rows = _run(current, {n: queries[n] for n in FIRST_SHARE}, params)
    finally:
        beside.join()
    if beside.error is None:
        return rows | beside.rows
    if beside.opened or not isinstance(beside.error, SeqctlError):
        raise beside.error  # a query failed (or a bug): the report's error
    # no second connection to be had in this snapshot (a full pool; a pooler that sent it to
    # another server, where the snapshot is unknown): the rest here, workers allowed again
    current.execute("SET LOCAL max_parallel_workers_per_gather TO DEFAULT")
    return rows | _run(current, {n: queries[n] for n in SECOND_SHARE}, params)


class _Beside(threading.Thread):
    """Queries on a second connection, in the report's snapshot, in a thread (psycopg waits
    for the server without holding the GIL)."""

    def __init__(
        self,
        second: SecondReader,
        snapshot: str,
        timezone: str,
        queries: dict[str, str],
        params: dict[str, Any],
    ) -> None:
        super().__init__(name="seqctl-report-beside", daemon=True)
        self._second = second
        self._snapshot = snapshot
        self._timezone = timezone
        self._queries = queries
        self._params = params
        self.rows: dict[str, list[Any]] = {}
        self.error: BaseException | None = None
        self.opened = False  # in the snapshot, set up: what fails after is a query's error

    def run(self) -> None:
        try:
            with self._second(self._snapshot) as side:
                # the session's settings as the report's own: days and weeks in its zone
                side.execute(
                    f"{_SETTINGS_SQL}, {_NO_WORKERS}, set_config('TimeZone', :tz, true) AS zone",
                    {"tz": self._timezone},
                )
                self.opened = True
                self.rows = _run(side, self._queries, self._params)
        except BaseException as error:  # noqa: BLE001  (handed to the report's thread)
            self.error = error


def _seconds(value: Any) -> float | None:
    return None if value is None else float(value)

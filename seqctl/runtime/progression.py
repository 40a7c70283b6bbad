"""Moving sequences on (§4 "Progression"): ``task complete``, ``task skip`` and ``advance``.

Whoever activates a step holds the instance's row lock (``SELECT … FOR UPDATE``) and
re-checks, in a fresh statement, that the instance is active and has no active task; so
two clients completing the same task, or two ``advance`` runs, never activate a step twice.
The next task's due date is its predecessor's completion time plus the delay recorded on
the task when the instance started (never read from the template again, which may have
been edited since); only tasks made by other clients without that record fall back to the
template's step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..errors import Conflict, NotFound, Refused
from ..pg import Connection, tx
from .activation import with_activated_at
from .clock import delay_interval_sql
from .context import Context, action_of
from .lookup import require_uuids
from .scheduling import Activated, scheduled_due_dates, write_due_dates

ACTIVATE_NEXT = (
    "WITH inst AS ("
    "  SELECT si.id, si.sequence_template_id FROM sequence_instances si"
    "  WHERE si.id = ANY(CAST(:ids AS uuid[])) AND si.status = 'active'"
    "  AND NOT EXISTS (SELECT 1 FROM tasks a WHERE a.sequence_instance_id = si.id"
    "                  AND a.status = 'active')"
    "), nxt AS ("
    # the delay recorded at start; else (tasks made by other clients) the template's step
    "  SELECT DISTINCT ON (p.sequence_instance_id) p.id, p.sequence_instance_id,"
    "  COALESCE((p.metadata -> 'sequence' ->> 'delay_value')::int, st.delay_value, 0) AS dv,"
    "  COALESCE(p.metadata -> 'sequence' ->> 'delay_unit', st.delay_unit, 'days') AS du"
    "  FROM tasks p JOIN inst ON p.sequence_instance_id = inst.id"
    "  LEFT JOIN sequence_steps st ON st.sequence_template_id = inst.sequence_template_id"
    "  AND st.step_order = COALESCE((p.metadata -> 'sequence' ->> 'step_order')::int,"
    "                               p.sequence_step_order)"
    "  WHERE p.status = 'pending'"
    "  ORDER BY p.sequence_instance_id, p.sequence_step_order, p.created_at, p.id"
    "), base AS ("
    "  SELECT nxt.id, GREATEST(CAST(:floor AS timestamptz), COALESCE(("
    "    SELECT max(COALESCE(f.completed_at, f.cancelled_at, f.updated_at)) FROM tasks f"
    "    WHERE f.sequence_instance_id = nxt.sequence_instance_id"
    "    AND f.status IN ('completed', 'cancelled')), CAST(:now AS timestamptz))) AS at"
    "  FROM nxt"
    "), activated AS ("
    "  UPDATE tasks t SET status = 'active', due_date = base.at + "
    + delay_interval_sql("nxt.dv", "nxt.du")
    + ", metadata = "
    + with_activated_at("t.metadata", "base.at")
    + "  FROM nxt JOIN base ON base.id = nxt.id WHERE t.id = nxt.id"
    "  RETURNING t.id, t.sequence_instance_id, t.sequence_step_order, t.due_date,"
    # §10: what a scheduled task's due date is recomputed from (seqctl.scheduling)
    "  t.metadata -> 'sequence' -> 'schedule' AS schedule, base.at, nxt.dv, nxt.du"
    "), moved AS ("
    "  UPDATE sequence_instances si SET current_step_order = a.sequence_step_order"
    "  FROM activated a WHERE si.id = a.sequence_instance_id RETURNING si.id"
    "), finished AS ("
    "  UPDATE sequence_instances si SET status = 'completed',"
    "  completed_at = CAST(:now AS timestamptz)"
    "  FROM inst WHERE si.id = inst.id"
    "  AND NOT EXISTS (SELECT 1 FROM nxt WHERE nxt.sequence_instance_id = inst.id)"
    "  AND EXISTS (SELECT 1 FROM tasks e WHERE e.sequence_instance_id = inst.id)"
    "  RETURNING si.id"
    ") SELECT 'activated' AS what, sequence_instance_id::text AS instance_id, id::text AS task_id,"
    "  sequence_step_order AS step, due_date, schedule, at, dv, du FROM activated"
    " UNION ALL SELECT 'completed', id::text, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
    " FROM finished"
)


@dataclass(frozen=True)
class Move:
    """What happened to one instance when it moved on."""

    instance_id: str
    what: str  # activated | completed
    task_id: str | None = None
    step: int | None = None
    due_date: datetime | None = None
    scheduled_in: str | None = None  # §10: the zone a scheduled task's due date is in


@dataclass
class TaskOutcome:
    task_id: str
    instance_id: str
    result: str  # completed | skipped | already_completed | already_skipped
    name: str
    instance_status: str
    moves: list[Move] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return not self.result.startswith("already_")


@dataclass
class AdvanceReport:
    examined: int
    moves: list[Move]


def activate_next(
    conn: Connection, instance_ids: Sequence[str], *, now: datetime, floor: datetime | None = None
) -> list[Move]:
    """Move on every given active instance that has no active task (set-based).

    The caller holds the instances' row locks. The next pending task becomes active, due
    at the latest completion/cancellation time of the instance's tasks (at least ``floor``)
    plus its recorded delay; with nothing pending the instance is completed.
    """
    if not instance_ids:
        return []
    rows = tx(conn).rows(ACTIVATE_NEXT, {"ids": list(instance_ids), "now": now, "floor": floor})
    scheduled = scheduled_due_dates(
        [
            Activated(r.task_id, r.schedule, r.at, r.dv, r.du, r.due_date)
            for r in rows
            if r.schedule is not None
        ]
    )
    write_due_dates(conn, scheduled)  # nothing to do (no statement) without schedules
    return [
        Move(
            r.instance_id,
            r.what,
            r.task_id,
            r.step,
            scheduled.get(r.task_id, r.due_date),
            r.schedule.get("zone") if isinstance(r.schedule, dict) else None,
        )
        for r in rows
    ]


@dataclass(frozen=True)
class TaskRule:
    """What completing or skipping does to a task."""

    status: str  # the task's status after
    stamp: str  # the column that records when
    other: str  # the finished status it cannot be moved out of
    result: str  # the outcome's result ("already_" + it when done before)
    summary: str


TASK_RULES = {
    "complete": TaskRule(
        "completed",
        "completed_at",
        "cancelled",
        "completed",
        "Complete the tasks and move their sequences on. Completing twice is a no-op.",
    ),
    "skip": TaskRule(
        "cancelled",
        "cancelled_at",
        "completed",
        "skipped",
        "Skip (cancel) the tasks and move their sequences on. Skipping twice is a no-op.",
    ),
}


def finish_tasks(context: Context, task_ids: Sequence[str], action: str) -> list[TaskOutcome]:
    """Complete or skip (cancel) the tasks (``action``: a key of ``TASK_RULES``) and move
    their sequences on. Doing it twice is a no-op."""
    rule = TASK_RULES[action]
    conn, org_id = context.conn, context.org_id
    ids = require_uuids(task_ids, "task", conn=conn, org_id=org_id)
    now = context.begin_clock()
    found: dict[str, str | None] = dict(
        tx(conn).rows(
            "SELECT id::text, sequence_instance_id::text FROM tasks "
            "WHERE id = ANY(CAST(:ids AS uuid[])) AND organisation_id = CAST(:org AS uuid)",
            {"ids": ids, "org": org_id},
        )
    )
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(
            f"no task {', '.join(missing)} in the organisation",
            hint="tasks are given by UUID; `seqctl status INSTANCE` lists an instance's tasks",
        )
    standalone = [i for i in ids if found[i] is None]
    if standalone:
        raise Refused(
            f"task {', '.join(standalone)} is not part of a sequence",
            hint="complete standalone tasks in the CRM",
        )
    # lock the instances (in id order: no deadlock between runs), then re-read the tasks
    instances: dict[str, str] = dict(
        tx(conn).rows(
            "SELECT id::text, status FROM sequence_instances WHERE id = ANY(CAST(:ids AS"
            " uuid[])) "
            "ORDER BY id FOR UPDATE",
            {"ids": sorted({v for v in found.values() if v})},
        )
    )
    tasks = {
        r.id: r
        for r in tx(conn).rows(
            "SELECT id::text AS id, sequence_instance_id::text AS instance_id, status, name "
            "FROM tasks WHERE id = ANY(CAST(:ids AS uuid[])) FOR UPDATE",
            {"ids": ids},
        )
    }
    moved = [i for i in ids if i not in tasks or tasks[i].instance_id not in instances]
    if moved:  # deleted or unlinked by another client between the two reads
        raise Conflict(
            f"task {', '.join(moved)} changed while seqctl was working on it",
            hint="run the command again",
        )
    refused = [
        f"task {i} ({tasks[i].name!r}) is {rule.other}"
        for i in ids
        if tasks[i].status == rule.other
    ]
    if refused:
        raise Refused(
            "; ".join(refused) + f"; only active or pending tasks can be {rule.result}",
            hint="nothing was changed",
        )
    todo = [i for i in ids if tasks[i].status in ("active", "pending")]
    if todo:
        tx(conn).execute(
            f"UPDATE tasks SET status = :status, {rule.stamp} = CAST(:now AS timestamptz) "
            "WHERE id = ANY(CAST(:ids AS uuid[]))",
            {"status": rule.status, "now": now, "ids": todo},
        )
    moves = activate_next(conn, sorted({tasks[i].instance_id for i in todo}), now=now)
    return [
        TaskOutcome(
            i,
            tasks[i].instance_id,
            rule.result if i in todo else f"already_{rule.result}",
            tasks[i].name,
            status_after(instances[tasks[i].instance_id], tasks[i].instance_id, moves),
            [m for m in moves if m.instance_id == tasks[i].instance_id and i in todo],
        )
        for i in ids
    ]


# the two actions by name, as the CLI's commands are called
complete_tasks, skip_tasks = (
    action_of(finish_tasks, action, f"{action}_tasks", rule.summary)
    for action, rule in TASK_RULES.items()
)


def status_after(before: str, instance_id: str, moves: list[Move]) -> str:
    """An instance's status after ``moves``: completed if one completed it, else ``before``."""
    if any(m.instance_id == instance_id and m.what == "completed" for m in moves):
        return "completed"
    return before


def advance(context: Context) -> AdvanceReport:
    """Reconcile: move on every active instance (of the context's organisation, or of all
    with none) whose active task was completed or cancelled by another client. Instances
    locked by a concurrent run are skipped (that run moves them), so it is safe to run
    concurrently.
    """
    conn = context.conn
    org_id = context.organisation.id if context.organisation is not None else None
    now = context.begin_clock()
    ids = list(
        tx(conn).scalars(
            "SELECT si.id::text FROM sequence_instances si WHERE si.status = 'active'"
            " AND (CAST(:org AS uuid) IS NULL OR si.organisation_id = CAST(:org AS uuid))"
            " AND NOT EXISTS (SELECT 1 FROM tasks a WHERE a.sequence_instance_id = si.id"
            " AND a.status = 'active')"
            " ORDER BY si.id FOR UPDATE OF si SKIP LOCKED",
            {"org": org_id},
        )
    )
    return AdvanceReport(len(ids), activate_next(conn, ids, now=now))

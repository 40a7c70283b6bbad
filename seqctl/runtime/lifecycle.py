"""Instance lifecycle (§4): pause, resume, cancel, finish.

All-or-nothing per call: the instances are locked in id order, every one is checked against
the transition's allowed states, and only then are they changed, set-based. Every update
keeps the status/timestamp CHECK constraints of ``sequence_instances`` true (a cancelled or
finished instance has ``paused_at`` cleared). Tasks are never deleted: ``cancel`` cancels
the pending and active ones, keeping the history.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import NotFound, Refused
from ..pg import tx
from .clock import exact_interval_sql
from .context import Context, action_of
from .lookup import require_uuids
from .progression import Move, activate_next, status_after
from .scheduling import reschedule_active


@dataclass(frozen=True)
class Rule:
    allowed: tuple[str, ...]
    target: str
    explanation: str
    summary: str  # what the transition does: the library function's and the command's help


RULES: dict[str, Rule] = {
    "pause": Rule(
        ("active",),
        "paused",
        "only active instances can be paused",
        "Pause active instances: nothing moves on until they are resumed.",
    ),
    "resume": Rule(
        ("paused",),
        "active",
        "only paused instances can be resumed",
        "Resume paused instances; the active task's due date moves by the time spent paused.",
    ),
    "cancel": Rule(
        ("active", "paused"),
        "cancelled",
        "only active or paused instances can be cancelled",
        "Cancel active or paused instances; their open tasks are cancelled (kept as history).",
    ),
    "finish": Rule(
        ("active", "paused"),
        "completed",
        "only active or paused instances can be finished",
        "Finish active or paused instances: the active task completed, pending ones cancelled.",
    ),
}

_INSTANCE_SQL: dict[str, str] = {
    "pause": "status = 'paused', paused_at = CAST(:now AS timestamptz)",
    "resume": "status = 'active', paused_at = NULL",
    "cancel": "status = 'cancelled', cancelled_at = CAST(:now AS timestamptz), paused_at = NULL",
    "finish": "status = 'completed', completed_at = CAST(:now AS timestamptz), paused_at = NULL",
}

# tasks closed by cancel/finish are marked, so that status tells them from skipped ones
_CLOSED_BY = (
    "COALESCE(metadata, '{}'::jsonb) || jsonb_build_object('sequence',"
    " COALESCE(metadata -> 'sequence', '{}'::jsonb)"
    " || jsonb_build_object('closed_by', CAST(:action AS text)))"
)

_TASKS_SQL: dict[str, str] = {
    # the active task's due date moves by the exact time the instance spent paused
    "resume": (
        "UPDATE tasks t SET due_date = t.due_date + "
        + exact_interval_sql("CAST(:now AS timestamptz)", "si.paused_at")
        + " FROM sequence_instances si WHERE si.id = t.sequence_instance_id"
        " AND si.id = ANY(CAST(:ids AS uuid[])) AND t.status = 'active'"
        " AND t.due_date IS NOT NULL AND si.paused_at IS NOT NULL"
        " RETURNING t.sequence_instance_id::text"
    ),
    "cancel": (
        "UPDATE tasks SET status = 'cancelled', cancelled_at = CAST(:now AS timestamptz),"
        " metadata = " + _CLOSED_BY + " WHERE sequence_instance_id = ANY(CAST(:ids AS uuid[]))"
        " AND status IN ('pending', 'active') RETURNING sequence_instance_id::text"
    ),
    "finish": (
        "UPDATE tasks SET status = CASE WHEN status = 'active' THEN 'completed'"
        " ELSE 'cancelled' END,"
        " completed_at = CASE WHEN status = 'active' THEN CAST(:now AS timestamptz)"
        " ELSE completed_at END,"
        " cancelled_at = CASE WHEN status = 'pending' THEN CAST(:now AS timestamptz)"
        " ELSE cancelled_at END, metadata = "
        + _CLOSED_BY
        + " WHERE sequence_instance_id = ANY(CAST(:ids AS uuid[]))"
        " AND status IN ('pending', 'active') RETURNING sequence_instance_id::text"
    ),
}


@dataclass
class Transition:
    instance_id: str
    name: str
    action: str
    from_status: str
    to_status: str
    tasks_changed: int = 0
    moves: list[Move] = field(default_factory=list)


def transition(context: Context, instance_ids: Sequence[str], action: str) -> list[Transition]:
    rule = RULES[action]
    conn, org_id = context.conn, context.org_id
    ids = require_uuids(instance_ids, "instance", conn=conn, org_id=org_id)
    now = context.begin_clock()
    rows = {
        r.id: r
        for r in tx(conn).rows(
            "SELECT id::text AS id, name, status FROM sequence_instances "
            "WHERE id = ANY(CAST(:ids AS uuid[])) AND organisation_id = CAST(:org AS uuid) "
            "ORDER BY id FOR UPDATE",
            {"ids": ids, "org": org_id},
        )
    }
    missing = [i for i in ids if i not in rows]
    if missing:
        raise NotFound(
            f"no instance {', '.join(missing)} in the organisation",
            hint="instances are given by UUID; `seqctl status` lists them",
        )
    refused = [
        f"instance {i} ({rows[i].name!r}) is {rows[i].status}"
        for i in ids
        if rows[i].status not in rule.allowed
    ]
    if refused:
        raise Refused(
            "; ".join(refused) + f"; {rule.explanation}",
            hint="nothing was changed; `seqctl status INSTANCE` shows an instance's state",
        )
    params = {"ids": ids, "now": now, "action": action}
    changed: Counter[str] = Counter()
    if action in _TASKS_SQL:  # before the instances: resume reads paused_at
        changed.update(tx(conn).scalars(_TASKS_SQL[action], params))
    tx(conn).execute(
        f"UPDATE sequence_instances SET {_INSTANCE_SQL[action]} "
        "WHERE id = ANY(CAST(:ids AS uuid[]))",
        params,
    )
    if action == "resume":  # §10: a pushed-back due date moves into its recorded schedule
        reschedule_active(conn, ids)
    moves = activate_next(conn, ids, now=now, floor=now) if action == "resume" else []
    return [
        Transition(
            i,
            rows[i].name,
            action,
            rows[i].status,
            status_after(rule.target, i, moves),
            changed[i],
            [m for m in moves if m.instance_id == i],
        )
        for i in ids
    ]


# resume: if the active task was completed or skipped while paused, the next step starts
# now (its delay counted from the resume), as ``advance`` would do
pause, resume, cancel, finish = (
    action_of(transition, name, name, rule.summary) for name, rule in RULES.items()
)

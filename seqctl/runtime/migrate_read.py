"""Reading what a migration starts from: the template (locked), its running instances
(locked in id order, as progression locks them) and their tasks, in three statements.

The tasks are not read one by one: one statement sums up each instance's tasks (their ids
in order, a key of their state, what new tasks are assigned to, the active task's due
date), and only one instance per distinct key (its *representative*) has its tasks read
in full. Instances with the same key migrate alike (``migrate_shape``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..pg import Connection, tx
from ..templates.spec import content_digest
from .migrate_match import Task

LOCK_TEMPLATE = (
    "SELECT metadata FROM sequence_templates WHERE id = CAST(:id AS uuid)"
    " AND organisation_id = CAST(:org AS uuid) FOR SHARE"
)
SELECT_TEMPLATE = (
    "SELECT metadata FROM sequence_templates WHERE id = CAST(:id AS uuid)"
    " AND organisation_id = CAST(:org AS uuid)"
)
# the running instances, locked in id order (as progression locks them); READ COMMITTED:
# the WHERE is checked again on the latest version of a row this had to wait for
INSTANCES_SQL = (
    "SELECT si.id::text AS id, si.name, si.status, si.restaurant_id::text AS restaurant_id,"
    " r.name AS restaurant, CASE WHEN jsonb_typeof(si.metadata -> 'seqctl' -> 'template_version')"
    " = 'number' THEN si.metadata -> 'seqctl' ->> 'template_version' END AS version,"
    " si.assigned_to::text AS assigned_to"
    " FROM sequence_instances si JOIN restaurants r ON r.id = si.restaurant_id"
    " WHERE si.sequence_template_id = CAST(:template AS uuid)"
    " AND si.organisation_id = CAST(:org AS uuid) AND si.status IN ('active', 'paused')"
    " AND (CAST(:restaurants AS uuid[]) IS NULL OR si.restaurant_id = ANY(CAST(:restaurants"
    " AS uuid[])))"
    " AND (CAST(:instances AS uuid[]) IS NULL OR si.id = ANY(CAST(:instances AS uuid[])))"
    " ORDER BY si.id"
)
ORDER = "t.sequence_step_order, t.created_at, t.id"
# what decides how an instance migrates, per task (see migrate_shape): the shape's key
TASK_KEY = (
    "ROW(t.metadata -> 'sequence' -> 'step_id', t.status, t.sequence_step_order,"
    " t.name, t.description, t.type, t.priority, t.task_template_id, t.message_template_id,"
    " t.message, {subject}, t.metadata -> 'sequence' -> 'delay_value',"
    " t.metadata -> 'sequence' -> 'delay_unit', t.due_date IS NULL,"
    " CASE WHEN jsonb_typeof(t.metadata -> 'sequence' -> 'schedule') = 'object'"
    " THEN (t.metadata -> 'sequence' -> 'schedule') - 'zone' END)::text"
)
SUMMARY_SQL = (
    "SELECT t.sequence_instance_id::text AS instance_id,"
    # one sorted aggregate: "id:status:position:md5 of its key", comma-separated, in order
    " string_agg(t.id || ':' || t.status || ':' || t.sequence_step_order || ':'"
    f" || md5({TASK_KEY}), ',' ORDER BY {ORDER}) AS tasks,"
    " (array_agg(t.assigned_to::text ORDER BY t.sequence_step_order DESC, t.created_at, t.id)"
    " FILTER (WHERE t.assigned_to IS NOT NULL))[1] AS assignee,"
    f" (array_agg(t.due_date ORDER BY {ORDER}) FILTER (WHERE t.status = 'active'))[1]"
    " AS active_due,"
    f" (array_agg(t.metadata -> 'sequence' ->> 'activated_at' ORDER BY {ORDER})"
    " FILTER (WHERE t.status = 'active'))[1] AS activated_at"
    " FROM tasks t WHERE t.sequence_instance_id = ANY(CAST(:ids AS uuid[]))"
    " GROUP BY t.sequence_instance_id"
)
# every task of the representatives as one JSON document
TASKS_SQL = (
    "SELECT coalesce(json_agg(json_build_array(t.id, t.sequence_instance_id,"
    " t.sequence_step_order, t.status, t.name, t.description, t.type, t.priority,"
    " t.task_template_id, t.message_template_id, t.message, {subject}, t.due_date,"
    f" t.metadata, t.assigned_to) ORDER BY t.sequence_instance_id, {ORDER})::text, '[]')"
    " FROM tasks t WHERE t.sequence_instance_id = ANY(CAST(:ids AS uuid[]))"
)


@dataclass
class InstanceRow:
    """A running instance, with the summary of its tasks."""

    id: str
    name: str
    status: str
    restaurant_id: str
    restaurant: str
    version: int | None
    assigned_to: str | None
    key: str = ""  # its tasks' state (instances with the same key and status migrate alike)
    task_ids: tuple[str, ...] = ()
    state: str = ""  # its tasks' ids, statuses, positions and keys (for the digest)
    assignee: str | None = None  # of new tasks: the latest task's, else the instance's
    active_due: datetime | None = None
    activated_at: datetime | None = None


def read_instances(
    conn: Connection,
    template_id: str,
    org_id: str,
    restaurants: list[str] | None,
    instances: list[str] | None,
    *,
    lock: bool,
    with_subject: bool,
) -> list[InstanceRow]:
    """The running instances (locked with ``lock``), each with the summary of its tasks."""
    rows = tx(conn).rows(
        INSTANCES_SQL + (" FOR UPDATE OF si" if lock else ""),
        {
            "template": template_id,
            "org": org_id,
            "restaurants": restaurants,
            "instances": instances,
        },
    )
    found = [
        InstanceRow(
            r.id,
            r.name,
            r.status,
            r.restaurant_id,
            r.restaurant,
            int(r.version) if r.version and r.version.lstrip("-").isdigit() else None,
            r.assigned_to,
        )
        for r in rows
    ]
    if not found:
        return found
    by_id = {r.id: r for r in found}
    subject = "t.subject_line" if with_subject else "NULL"
    for s in tx(conn).rows(
        SUMMARY_SQL.format(subject=subject), {"ids": "{" + ",".join(by_id) + "}"}
    ):  # fmt: skip
        row = by_id[s.instance_id]
        parts = s.tasks.split(",")
        row.task_ids = tuple(p[:36] for p in parts)
        row.key, row.state = "".join(p[-32:] for p in parts), s.tasks
        row.assignee, row.active_due = s.assignee, s.active_due
        row.activated_at = _instant(s.activated_at)
    return found


def _instant(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:  # edited by hand: the due date minus the delay is used instead
        return None


def read_tasks(
    conn: Connection, instance_ids: Sequence[str], *, with_subject: bool
) -> dict[str, list[Task]]:
    """instance id -> its tasks in order (for the few representatives)."""
    tasks: dict[str, list[Task]] = {i: [] for i in instance_ids}
    if not tasks:
        return tasks
    document = tx(conn).scalar_one(
        TASKS_SQL.format(subject="t.subject_line" if with_subject else "NULL"),
        {"ids": list(tasks)},
    )
    for item in json.loads(document):
        (tid, iid, order, status, name, desc, type_, prio, tt, mt, msg, subj, due, meta,
         assignee) = item  # fmt: skip
        tasks[iid].append(
            Task(
                tid,
                int(order),
                status,
                name,
                desc,
                type_,
                prio,
                tt,
                mt,
                msg,
                subj,
                datetime.fromisoformat(due) if due else None,
                dict(meta or {}),
                assignee,
            )  # fmt: skip
        )
    return tasks


def state_digest(rows: Sequence[InstanceRow]) -> str:
    """A hash of the running instances and their tasks (statuses, positions, contents): a
    saved plan that migrates them is stale when it changed (an instance progressed)."""
    return content_digest([[r.id, r.status, r.state] for r in sorted(rows, key=lambda r: r.id)])


def template_metadata(conn: Connection, template_id: str, org_id: str, *, lock: bool) -> Any:
    """The template row's metadata (locked FOR SHARE with ``lock``); None if it is gone."""
    found = tx(conn).first(
        LOCK_TEMPLATE if lock else SELECT_TEMPLATE, {"id": template_id, "org": org_id}
    )
    return None if found is None else dict(found.metadata or {})


def representatives(rows: Sequence[InstanceRow]) -> dict[tuple[str, str], str]:
    """(status, key) -> the first instance in that state."""
    found: dict[tuple[str, str], str] = {}
    for r in rows:
        found.setdefault((r.status, r.key), r.id)
    return found

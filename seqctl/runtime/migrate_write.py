"""Writing a migration: at most four statements, whatever the number of instances.

What is the same for every instance in a state (the step's fields, the new position, the
metadata patch, the status) travels once per shape, as a small JSON document; what differs
per instance travels as parallel arrays (``unnest``): the task ids, the due dates that
start now or are rescheduled, the texts rendered for the restaurant (only for steps whose
texts use variables), the zone a scheduled task records, the assignee of new tasks.

1. ``UPDATE tasks``: written tasks (each guarded by the status it was read with: a task
   finished meanwhile makes the migration fail, ``Conflict``, and the caller rolls back);
2. ``INSERT INTO tasks``: the new tasks;
3. ``UPDATE sequence_instances``: ``total_steps``, ``current_step_order``, the version;
4. (once) the template's version, for a template seqctl never versioned.

``metadata.sequence`` of a written task is patched in SQL (its other keys are kept): the
step it follows, its recorded delay, the schedule it is scheduled with and its zone (§10),
``activated_at`` when it starts now; a cancelled task is marked ``removed_by_migration``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..db.crm_columns import crm_columns
from ..errors import Conflict
from ..pg import Connection, tx
from .migrate_model import Migration, MigrationResult, Shape, TaskInsert, TaskWrite
from .migrate_render import Renderer
from .steps import TASK_COLUMNS, Step, task_columns

PLAN_RECORD = (
    "p(n int, expected text, status text, rewrite boolean, name text, description text,"
    " type text, priority text, task_template_id uuid, message_template_id uuid,"
    " message text, message_rendered text, subject_line text, subject_line_rendered text,"
    " step_order int, patch jsonb, set_schedule boolean, schedule jsonb, activates boolean)"
)
# metadata.sequence of a written task: its own (if an object), patched
SEQUENCE = (
    "(CASE WHEN p.set_schedule THEN {base} - 'schedule' ELSE {base} END || p.patch"
    " || CASE WHEN p.set_schedule AND p.schedule IS NOT NULL THEN jsonb_build_object("
    "'schedule', p.schedule || jsonb_build_object('zone', u.zone)) ELSE '{{}}' END"
    " || CASE WHEN p.activates THEN jsonb_build_object('activated_at',"
    " to_jsonb(CAST(:now AS timestamptz))) ELSE '{{}}' END)"
)
OWN_SEQUENCE = (
    "CASE WHEN jsonb_typeof(t.metadata -> 'sequence') = 'object'"
    " THEN t.metadata -> 'sequence' ELSE '{}'::jsonb END"
)


def _texts(with_subject: bool) -> str:
    """``column = …`` for the texts a rewrite sets (rendered per restaurant, else shared)."""
    out = (
        "message = CASE WHEN p.rewrite THEN p.message ELSE t.message END,"
        " message_rendered = CASE WHEN p.rewrite THEN COALESCE(u.msg, p.message_rendered)"
        " ELSE t.message_rendered END,"
    )
    if with_subject:
        out += (
            " subject_line = CASE WHEN p.rewrite THEN p.subject_line ELSE t.subject_line END,"
            " subject_line_rendered = CASE WHEN p.rewrite THEN"
            " COALESCE(u.subj, p.subject_line_rendered) ELSE t.subject_line_rendered END,"
        )
    return out


def _update_tasks(with_subject: bool) -> str:
    rewrite = "".join(
        f" {c} = CASE WHEN p.rewrite THEN p.{c} ELSE t.{c} END,"
        for c in TASK_COLUMNS[: TASK_COLUMNS.index("message")]  # the texts: _texts()
    )
    return (
        "UPDATE tasks t SET status = p.status,"
        " cancelled_at = CASE WHEN p.status = 'cancelled' THEN CAST(:now AS timestamptz)"
        " ELSE t.cancelled_at END," + rewrite + " " + _texts(with_subject) + " due_date ="
        " CASE WHEN u.due IS NOT NULL THEN u.due ELSE t.due_date END,"
        " sequence_step_order = COALESCE(p.step_order, t.sequence_step_order),"
        " metadata = COALESCE(t.metadata, '{}'::jsonb) || jsonb_build_object('sequence', "
        + SEQUENCE.format(base="(" + OWN_SEQUENCE + ")")
        + ") FROM unnest(CAST(:ids AS uuid[]), CAST(:writes AS int[]),"
        " CAST(:dues AS timestamptz[]), CAST(:msgs AS text[]), CAST(:subjects AS text[]),"
        " CAST(:zones AS text[])) AS u(id, n, due, msg, subj, zone)"
        f" JOIN jsonb_to_recordset(CAST(:plan AS jsonb)) AS {PLAN_RECORD} ON p.n = u.n"
        " WHERE t.id = u.id AND t.status = p.expected"
        " AND t.organisation_id = CAST(:org AS uuid)"
    )


def _insert_tasks(with_subject: bool) -> str:
    columns = " subject_line, subject_line_rendered," if with_subject else ""
    values = " p.subject_line, COALESCE(u.subj, p.subject_line_rendered)," if with_subject else ""
    return (
        "INSERT INTO tasks (organisation_id, restaurant_id, task_template_id,"
        " message_template_id, name, description, type, status, priority, message,"
        " message_rendered," + columns + " due_date, assigned_to, created_by, metadata,"
        " sequence_instance_id, sequence_step_order)"
        " SELECT CAST(:org AS uuid), u.restaurant_id, p.task_template_id,"
        " p.message_template_id, p.name, p.description, p.type, p.status, p.priority,"
        " p.message, COALESCE(u.msg, p.message_rendered)," + values + " u.due, u.assignee,"
        " CAST(:acting AS uuid), jsonb_build_object('sequence', "
        + SEQUENCE.format(base="'{}'::jsonb")
        + "), u.instance_id, p.step_order"
        " FROM unnest(CAST(:instances AS uuid[]), CAST(:restaurants AS uuid[]),"
        " CAST(:inserts AS int[]), CAST(:dues AS timestamptz[]), CAST(:msgs AS text[]),"
        " CAST(:subjects AS text[]), CAST(:zones AS text[]), CAST(:assignees AS uuid[]))"
        " AS u(instance_id, restaurant_id, n, due, msg, subj, zone, assignee)"
        f" JOIN jsonb_to_recordset(CAST(:plan AS jsonb)) AS {PLAN_RECORD} ON p.n = u.n"
        " ORDER BY u.instance_id, p.step_order"
    )


UPDATE_INSTANCES = (
    "UPDATE sequence_instances si SET total_steps = CAST(:total AS int),"
    " current_step_order = COALESCE(p.current, si.current_step_order),"
    " status = CASE WHEN p.complete THEN 'completed' ELSE si.status END,"
    " completed_at = CASE WHEN p.complete THEN CAST(:now AS timestamptz) ELSE si.completed_at"
    " END,"
    " metadata = COALESCE(si.metadata, '{}'::jsonb) || jsonb_build_object('seqctl',"
    " COALESCE(si.metadata -> 'seqctl', '{}'::jsonb)"
    " || jsonb_build_object('template_version', CAST(:version AS int)))"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:shapes AS int[])) AS u(id, n)"
    " JOIN jsonb_to_recordset(CAST(:plan AS jsonb)) AS p(n int, current int, complete boolean)"
    " ON p.n = u.n"
    " WHERE si.id = u.id AND si.organisation_id = CAST(:org AS uuid)"
    " AND si.status IN ('active', 'paused')"
)
RECORD_VERSION = (
    "UPDATE sequence_templates SET metadata = COALESCE(metadata, '{}'::jsonb)"
    " || jsonb_build_object('seqctl', COALESCE(metadata -> 'seqctl', '{}'::jsonb)"
    " || jsonb_build_object('version', CAST(:version AS int)))"
    " WHERE id = CAST(:id AS uuid) AND organisation_id = CAST(:org AS uuid)"
)


def _step_row(migration: Migration, step: Step, renderer: Renderer) -> dict[str, Any]:
    message_rendered, subject_rendered = renderer.shared(step)
    return {
        **task_columns(step),
        "message_rendered": message_rendered,
        "subject_line_rendered": subject_rendered,
        "step_order": step.position,
        "patch": {
            "template_id": migration.template.id,
            "step_id": step.step_id,
            "step_order": step.step_order,
            "delay_value": step.delay_value,
            "delay_unit": step.delay_unit,
        },
        "schedule": migration.records.get(step.position),
    }


def _write_row(migration: Migration, n: int, w: TaskWrite, renderer: Renderer) -> dict[str, Any]:
    base: dict[str, Any] = {"n": n, "expected": w.expected, "status": w.status}
    if w.step is None:  # cancelled: marked, everything else kept
        return {
            **base,
            "rewrite": False,
            "patch": {
                "removed_by_migration": True,
                "closed_by": "migration",
                "migration_reason": w.reason,
            },
            "set_schedule": False,
            "activates": False,
        }
    return {
        **base,
        **_step_row(migration, w.step, renderer),
        "rewrite": w.rewrite,
        "set_schedule": w.rewrite or w.activates or w.reschedule,
        "activates": w.activates,
    }


def _insert_row(migration: Migration, n: int, i: TaskInsert, renderer: Renderer) -> dict[str, Any]:
    return {
        **_step_row(migration, i.step, renderer),
        "n": n,
        "status": "active" if i.activates else "pending",
        "rewrite": True,
        "set_schedule": True,
        "activates": i.activates,
    }


def apply_migration(
    conn: Connection, migration: Migration, *, acting_user_id: str | None = None
) -> MigrationResult:
    """Write ``migration`` (made by ``plan_migration(lock=True)`` in this transaction) in at
    most four statements. Conflict if a task changed under it (the caller rolls back).
    ``acting_user_id``: the user recorded as the new tasks' ``created_by``, as the caller
    resolved it (the run-time context's user)."""
    org = migration.organisation.id
    acting = acting_user_id
    crm = crm_columns(conn)
    with_subject = crm.has("tasks", "subject_line") and crm.has("tasks", "subject_line_rendered")
    renderer = migration.renderer
    assert isinstance(renderer, Renderer), "a migration made by plan_migration"
    # the plan of each shape (once), numbered
    shapes: dict[int, Shape] = {m.shape.number: m.shape for m in migration.instances}
    write_plan: list[dict[str, Any]] = []
    insert_plan: list[dict[str, Any]] = []
    write_numbers: dict[int, list[tuple[int, TaskWrite]]] = {}
    insert_numbers: dict[int, list[tuple[int, TaskInsert]]] = {}
    for number, shape in shapes.items():
        write_numbers[number] = []
        for w in shape.writes:
            write_numbers[number].append((len(write_plan), w))
            write_plan.append(_write_row(migration, len(write_plan), w, renderer))
        insert_numbers[number] = []
        for i in shape.inserts:
            insert_numbers[number].append((len(insert_plan), i))
            insert_plan.append(_insert_row(migration, len(insert_plan), i, renderer))
    # who needs texts rendered for their restaurant: read those restaurants once
    personal = {
        m.restaurant_id
        for m in migration.instances
        if any(w.rewrite and w.step and renderer.personal(w.step) for w in m.shape.writes)
        or any(renderer.personal(i.step) for i in m.shape.inserts)
    }
    renderer.load(conn, migration.organisation, personal, crm)

    u: dict[str, list[Any]] = {
        k: [] for k in ("ids", "writes", "dues", "msgs", "subjects", "zones")
    }
    ins: dict[str, list[Any]] = {
        k: []
        for k in (
            "instances",
            "restaurants",
            "inserts",
            "dues",
            "msgs",
            "subjects",
            "zones",
            "assignees",
        )
    }
    for m in migration.instances:
        for n, w in write_numbers[m.shape.number]:
            due: datetime | None = None
            if w.activates:
                due = m.activate_due
            elif w.reschedule:
                due = m.reschedule_due
                if due is None and w.reschedule_only:
                    continue  # its due date does not change: not written
            texts: tuple[str | None, str | None] = (None, None)
            if w.rewrite and w.step is not None and renderer.personal(w.step):
                texts = renderer.personal_texts(w.step, m.restaurant_id)
            u["ids"].append(m.task_ids[w.index])
            u["writes"].append(n)
            u["dues"].append(due)
            u["msgs"].append(texts[0])
            u["subjects"].append(texts[1])
            u["zones"].append(m.zone)
        for n, i in insert_numbers[m.shape.number]:
            texts = (
                renderer.personal_texts(i.step, m.restaurant_id)
                if renderer.personal(i.step)
                else (None, None)
            )
            ins["instances"].append(m.instance_id)
            ins["restaurants"].append(m.restaurant_id)
            ins["inserts"].append(n)
            ins["dues"].append(m.activate_due if i.activates else None)
            ins["msgs"].append(texts[0])
            ins["subjects"].append(texts[1])
            ins["zones"].append(m.zone)
            ins["assignees"].append(m.assignee)

    params = {"org": org, "now": migration.now, "acting": acting}
    if not migration.version_recorded:  # a template seqctl never versioned: it is v1 now
        tx(conn).execute(
            RECORD_VERSION, {"id": migration.template.id, "org": org, "version": migration.version}
        )
    done = 0
    if u["ids"]:
        arrays = {k: _array(v) for k, v in u.items()}
        done = (
            tx(conn)
            .execute(_update_tasks(with_subject), {**params, **arrays, "plan": _json(write_plan)})
            .rowcount
        )
        if done != len(u["ids"]):
            raise Conflict(
                f"{len(u['ids']) - done} task(s) of the instances changed while the migration "
                "was prepared (completed or edited in the web app); nothing was changed",
                hint="run `seqctl migrate` again to see a fresh preview",
            )
    if ins["instances"]:
        arrays = {k: _array(v) for k, v in ins.items()}
        tx(conn).execute(
            _insert_tasks(with_subject), {**params, **arrays, "plan": _json(insert_plan)}
        )
    if migration.instances:
        shape_plan = [
            {"n": n, "current": s.current_step_order, "complete": s.completes}
            for n, s in shapes.items()
        ]
        moved = (
            tx(conn)
            .execute(
                UPDATE_INSTANCES,
                {
                    **params,
                    "ids": _array([m.instance_id for m in migration.instances]),
                    "shapes": _array([m.shape.number for m in migration.instances]),
                    "plan": _json(shape_plan),
                    "total": len(migration.steps),
                    "version": migration.version,
                },
            )
            .rowcount
        )
        if moved != len(migration.instances):
            raise Conflict(
                "an instance stopped running while the migration was prepared; nothing was changed",
                hint="run `seqctl migrate` again to see a fresh preview",
            )
    return MigrationResult(len(migration.instances), done, len(ins["instances"]))


def _array(values: Sequence[Any]) -> str:
    """A PostgreSQL array literal (``{a,"b c",NULL}``) of uuids, numbers, instants or texts:
    made here in one pass, much faster than adapting a long list element by element."""
    if all(type(v) is int for v in values):
        return "{" + ",".join(map(str, values)) + "}"
    if all(v is None or (type(v) is str and _PLAIN.match(v)) for v in values):
        return "{" + ",".join("NULL" if v is None else v for v in values) + "}"  # uuids
    return "{" + ",".join(_element(v) for v in values) + "}"


_PLAIN = re.compile(r"[0-9a-fA-F-]+\Z")  # needs no quotes (and is never the word NULL)


def _element(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    found = value.isoformat() if isinstance(value, datetime) else str(value)
    return '"' + found.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _json(rows: Sequence[Any]) -> str:
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=str)

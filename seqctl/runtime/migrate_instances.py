"""Moving running instances to their template's current steps (spec §9, `seqctl migrate`).

    with db.begin() as conn:
        migration = plan_migration(conn, organisation, "onboarding")   # locks, reads, diffs
        print(migration.counts())                                      # the preview
        apply_migration(conn, migration)                               # writes, set-based

``plan_migration`` matches each running instance's tasks to the template's steps (by the
step id recorded on the task; tasks without one by name, then by order), finds the
instance's position (its active task, else its last finished one) and works out, in
Python and per instance, what must change. Nothing is written until ``apply_migration``,
which writes everything in a constant number of statements (one UPDATE of the tasks, one
INSERT of new tasks, one UPDATE of the instances, one of the template), whatever the
number of instances. The preview is exactly what is written: the due dates are computed
here, not in SQL.

Serialisation: the caller's transaction holds the template row ``FOR SHARE`` (a sync that
edits it waits, and so does an ``apply``) and the instance rows ``FOR UPDATE`` in id order,
the lock ``task complete`` and ``advance`` take before they activate a step; so a step is
never activated twice and an instance never has two active tasks. Each task write is
guarded by the status it was read with: a task the web app finished meanwhile makes the
migration fail (Conflict) and roll back.

Rules (spec §9): history (completed and cancelled tasks) is never written; pending tasks
become exactly the current steps after the instance's position (changed ones updated,
removed ones cancelled and marked ``metadata.sequence.removed_by_migration``, new ones
inserted, each at its new position); steps before the position that the instance never
ran are *passed* (not added); the active task keeps its due date unless ``reschedule``
(then its activation time + the new delay); an active task whose step was removed is
cancelled and, on an active instance, the next step starts now (with no next step the
instance is completed, as progression would). A paused instance starts that step when
it is resumed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from ..db.crm_columns import crm_columns
from ..db.versions import SEQCTL_KEY, recorded_version, version_of
from ..errors import Conflict, NotFound, Refused
from ..templates.declared import Declared
from ..templates.rendering import Today, compile_message, variable_values
from .apply import _restaurant_details
from .clock import begin_clock, local_date
from .lookup import (
    Organisation,
    Template,
    require_uuids,
    resolve_template,
    resolve_user,
    restaurant_ids,
)
from .steps import Step, load_steps

RUNNING = ("active", "paused")
HISTORY = ("completed", "cancelled")

# Outcomes of a step (or of a task whose step is gone) in the preview
DONE = "done"  # the instance ran it already (history): untouched
KEPT = "kept"  # same content (perhaps at a new position)
CHANGED = "changed"  # content changed: the task is updated field by field
ADDED = "added"  # a new step after the position: a new pending task
REMOVED = "removed"  # the step is gone: its pending or active task is cancelled
PASSED = "passed"  # a step before the position the instance never ran: not added

COMPARED = (
    "name",
    "description",
    "type",
    "priority",
    "task_template_id",
    "message_template_id",
    "message",
    "subject_line",
    "delay",
)


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class StepOutcome:
    """One line of an instance's preview."""

    outcome: str  # DONE | KEPT | CHANGED | ADDED | REMOVED | PASSED
    name: str
    new_order: int | None  # position in the current template (None: removed)
    old_order: int | None  # the task's position before (None: no task)
    task_id: str | None
    task_status: str | None  # the task's status before the migration
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class DueChange:
    task_id: str | None  # None: a task the migration inserts
    name: str
    old: datetime | None
    new: datetime | None


@dataclass
class InstanceMigration:
    """What the migration does to one running instance."""

    instance_id: str
    name: str
    restaurant: str
    status: str
    from_version: int | None
    to_version: int
    matched_by: str  # "step_id", or "order_and_name" when tasks had no recorded step ids
    steps: list[StepOutcome] = field(default_factory=list)
    active_before: str | None = None  # name of the active step before
    active_after: str | None = None  # name of the active step after (None: none)
    active_after_order: int | None = None
    starts_now: bool = False  # the active step was removed: the next one starts now
    completes: bool = False  # nothing left to run: the instance completes
    due_changes: list[DueChange] = field(default_factory=list)
    # the writes (rows for the set-based statements)
    task_updates: list[dict[str, Any]] = field(default_factory=list)
    task_inserts: list[dict[str, Any]] = field(default_factory=list)
    instance_update: dict[str, Any] = field(default_factory=dict)

    def count(self, outcome: str) -> int:
        return sum(1 for s in self.steps if s.outcome == outcome)

    @property
    def changes_tasks(self) -> bool:
        return any(s.outcome in (CHANGED, ADDED, REMOVED) for s in self.steps) or bool(
            self.due_changes
        )


@dataclass
class Migration:
    organisation: Organisation
    template: Template
    version: int
    steps: list[Step]
    reschedule: bool
    now: datetime
    instances: list[InstanceMigration]
    version_recorded: bool  # the template already had metadata.seqctl.version
    state: str = ""  # digest of the instances and tasks it was made from (_state_digest)

    def counts(self) -> dict[str, int]:
        """Instances touched and tasks added, changed and cancelled (for plan and preview)."""
        return {
            "instances": len(self.instances),
            "instances_changed": sum(1 for i in self.instances if i.changes_tasks),
            "tasks_added": sum(i.count(ADDED) for i in self.instances),
            "tasks_changed": sum(i.count(CHANGED) for i in self.instances),
            "tasks_cancelled": sum(
                1
                for i in self.instances
                for s in i.steps
                if s.task_id is not None
                and s.outcome in (REMOVED, PASSED)
                and s.task_status in ("pending", "active")
            ),
            "matched_by_order_and_name": sum(
                1 for i in self.instances if i.matched_by != "step_id"
            ),
        }


@dataclass
class _Task:
    id: str
    order: int
    status: str
    name: str
    description: str | None
    type: str
    priority: str
    task_template_id: str | None
    message_template_id: str | None
    message: str | None
    subject_line: str | None
    due_date: datetime | None
    metadata: dict[str, Any]
    assigned_to: str | None

    @cached_property
    def sequence(self) -> dict[str, Any]:
        found = self.metadata.get("sequence")
        return dict(found) if isinstance(found, Mapping) else {}

    @cached_property
    def step_id(self) -> str | None:
        found = self.sequence.get("step_id")
        return found if isinstance(found, str) else None

    @cached_property
    def delay(self) -> tuple[int, str] | None:
        seq = self.sequence
        value, unit = seq.get("delay_value"), seq.get("delay_unit")
        if isinstance(value, int) and isinstance(unit, str):
            return value, unit
        return None


LOCK_TEMPLATE = text(
    "SELECT metadata FROM sequence_templates WHERE id = CAST(:id AS uuid)"
    " AND organisation_id = CAST(:org AS uuid) FOR SHARE"
)
SELECT_TEMPLATE = text(
    "SELECT metadata FROM sequence_templates WHERE id = CAST(:id AS uuid)"
    " AND organisation_id = CAST(:org AS uuid)"
)
# the running instances, locked in id order (as progression locks them); READ COMMITTED:
# the WHERE is checked again on the latest version of a row this had to wait for
INSTANCES_SQL = (
    "SELECT si.id::text AS id, si.name, si.status, si.restaurant_id::text AS restaurant_id,"
    " r.name AS restaurant, si.metadata, si.assigned_to::text AS assigned_to,"
    " si.current_step_order"
    " FROM sequence_instances si JOIN restaurants r ON r.id = si.restaurant_id"
    " WHERE si.sequence_template_id = CAST(:template AS uuid)"
    " AND si.organisation_id = CAST(:org AS uuid) AND si.status IN ('active', 'paused')"
    " AND (CAST(:restaurants AS uuid[]) IS NULL OR si.restaurant_id = ANY(CAST(:restaurants"
    " AS uuid[])))"
    " AND (CAST(:instances AS uuid[]) IS NULL OR si.id = ANY(CAST(:instances AS uuid[])))"
    " ORDER BY si.id"
)
# every task of those instances as one JSON document (fast for 100,000 tasks)
TASKS_SQL = text(
    "SELECT coalesce(json_agg(json_build_array(t.id, t.sequence_instance_id,"
    " t.sequence_step_order, t.status, t.name, t.description, t.type, t.priority,"
    " t.task_template_id, t.message_template_id, t.message, {subject}, t.due_date,"
    " t.metadata, t.assigned_to) ORDER BY t.sequence_instance_id, t.sequence_step_order,"
    " t.created_at, t.id)::text, '[]') FROM tasks t"
    " WHERE t.sequence_instance_id = ANY(CAST(:ids AS uuid[]))"
)


def plan_migration(
    conn: Connection,
    organisation: Organisation,
    template_ref: str,
    *,
    restaurants: Sequence[str] = (),
    instances: Sequence[str] = (),
    reschedule: bool = False,
    timezone: str = "UTC",
    now: datetime | None = None,
    lock: bool = True,
    steps: list[Step] | None = None,
    version: int | None = None,
) -> Migration:
    """Work out the migration of the template's running instances (optionally only those
    of ``restaurants`` or the ``instances`` given). With ``lock`` the template row and the
    instances stay locked until the caller's transaction ends (apply in the same one).
    ``steps``/``version``: the steps and version a sync is about to write (a preview of
    ``running_instances: migrate``; never applied), instead of the template's own."""
    now = begin_clock(conn, timezone, now)
    template = resolve_template(conn, organisation.id, template_ref)
    found = conn.execute(
        LOCK_TEMPLATE if lock else SELECT_TEMPLATE, {"id": template.id, "org": organisation.id}
    ).first()
    if found is None:
        raise Conflict(
            f"template {template.name!r} ({template.id}) was deleted meanwhile",
            hint="nothing was changed",
        )
    metadata = dict(found.metadata or {})
    version = version_of(metadata) if version is None else version
    entry = metadata.get(SEQCTL_KEY)
    recorded = isinstance(entry, Mapping) and "version" in entry
    steps = load_steps(conn, template, organisation) if steps is None else steps
    if not steps:
        raise Refused(
            f"template {template.name!r} ({template.id}) has no steps; running instances "
            "cannot be moved to it",
            hint="add steps to the template first (in its file, then `seqctl sync`)",
        )
    restaurant_filter: list[str] | None = None
    if restaurants:
        restaurant_filter = sorted(
            {i for r in restaurants for i in restaurant_ids(conn, organisation.id, r)}
        )
    instance_filter = require_uuids(instances, "instance") if instances else None
    rows = conn.execute(
        text(INSTANCES_SQL + (" FOR UPDATE OF si" if lock else "")),
        {
            "template": template.id,
            "org": organisation.id,
            "restaurants": restaurant_filter,
            "instances": instance_filter,
        },
    ).all()
    if instance_filter:
        missing = sorted(set(instance_filter) - {r.id for r in rows})
        if missing:
            raise NotFound(
                f"no running (active or paused) instance {', '.join(missing)} of template "
                f"{template.name!r}",
                hint="`seqctl status --template "
                f"{template.key or template.id} --status active` lists them",
            )
    crm = crm_columns(conn)
    with_subject = crm.has("tasks", "subject_line") and crm.has("tasks", "subject_line_rendered")
    tasks: dict[str, list[_Task]] = {r.id: [] for r in rows}
    if rows:
        document = conn.execute(
            text(TASKS_SQL.text.format(subject="t.subject_line" if with_subject else "NULL")),
            {"ids": list(tasks)},
        ).scalar_one()
        for item in json.loads(document):
            (tid, iid, order, status, name, desc, type_, prio, tt, mt, msg, subj, due, meta,
             assignee) = item  # fmt: skip
            tasks[iid].append(
                _Task(
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
    renderer = _Renderer(conn, organisation, template, steps, rows, timezone, now, crm)
    zone = ZoneInfo(timezone)
    migrations = [
        _migrate_one(
            row, tasks[row.id], steps, version, template.id, reschedule, now, zone, renderer
        )
        for row in rows
    ]
    state = _state_digest(rows, tasks)
    return Migration(
        organisation, template, version, steps, reschedule, now, migrations, recorded, state
    )


def _state_digest(rows: Sequence[Any], tasks: Mapping[str, list[_Task]]) -> str:
    """A hash of the running instances and their tasks' statuses and positions: a saved plan
    that migrates them is stale when it changed (an instance progressed)."""
    data = [
        [r.id, r.status, [[t.id, t.status, t.order] for t in tasks[r.id]]]
        for r in sorted(rows, key=lambda r: r.id)
    ]
    text_ = json.dumps(data, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text_.encode()).hexdigest()


# -- per instance ----------------------------------------------------------------------


def _match(tasks: list[_Task], steps: list[Step]) -> tuple[dict[str, Step], bool]:
    """task id -> its step; and whether some task had no recorded step id (then matched by
    name, nearest position first, then by position)."""
    by_id = {s.step_id: s for s in steps}
    matched: dict[str, Step] = {}
    used: set[str] = set()
    for t in tasks:
        s = by_id.get(t.step_id) if t.step_id else None
        if s is not None and s.step_id not in used:
            matched[t.id] = s
            used.add(s.step_id)
    unrecorded = [t for t in tasks if t.step_id is None]
    rules: list[Callable[[_Task, Step], bool]] = [
        lambda t, s: t.name == s.name,
        lambda t, s: t.order == s.position,
    ]
    for rule in rules:
        for t in unrecorded:
            if t.id in matched:
                continue
            candidates = [s for s in steps if s.step_id not in used and rule(t, s)]
            if candidates:
                best = min(candidates, key=lambda s: abs(s.position - t.order))
                matched[t.id] = best
                used.add(best.step_id)
    return matched, bool(unrecorded)


def _delay_text(delay: tuple[int, str] | None) -> str | None:
    return f"{delay[0]} {delay[1]}" if delay is not None else None


def _task_fields(task: _Task, step: Step) -> list[FieldChange]:
    old: dict[str, Any] = {
        "name": task.name,
        "description": task.description,
        "type": task.type,
        "priority": task.priority,
        "task_template_id": task.task_template_id,
        "message_template_id": task.message_template_id,
        "message": task.message,
        "subject_line": task.subject_line,
        "delay": _delay_text(task.delay),
    }
    new: dict[str, Any] = {
        "name": step.name,
        "description": step.description,
        "type": step.type,
        "priority": step.priority,
        "task_template_id": step.task_template_id,
        "message_template_id": step.message_template_id,
        "message": step.message,
        "subject_line": step.subject,
        "delay": _delay_text((step.delay_value, step.delay_unit)),
    }
    return [FieldChange(f, old[f], new[f]) for f in COMPARED if old[f] != new[f]]


def add_delay(moment: datetime, value: int, unit: str, zone: ZoneInfo) -> datetime:
    """``moment`` + a delay as seqctl counts it: calendar days in ``zone``, exact hours and
    minutes (the same as ``clock.delay_interval_sql``)."""
    if unit == "days":
        local = moment.astimezone(zone)
        return (local + timedelta(days=value)).astimezone(moment.tzinfo)
    return moment + timedelta(**{unit: value})


def sub_delay(moment: datetime, value: int, unit: str, zone: ZoneInfo) -> datetime:
    if unit == "days":
        local = moment.astimezone(zone)
        return (local - timedelta(days=value)).astimezone(moment.tzinfo)
    return moment - timedelta(**{unit: value})


def _sequence_metadata(task: _Task | None, step: Step, template_id: str) -> dict[str, Any]:
    metadata = dict(task.metadata) if task is not None else {}
    metadata["sequence"] = {
        **(task.sequence if task is not None else {}),
        "template_id": template_id,
        "step_id": step.step_id,
        "step_order": step.step_order,
        "delay_value": step.delay_value,
        "delay_unit": step.delay_unit,
    }
    return metadata


def _migrate_one(
    row: Any,
    tasks: list[_Task],
    steps: list[Step],
    version: int,
    template_id: str,
    reschedule: bool,
    now: datetime,
    zone: ZoneInfo,
    renderer: _Renderer,
) -> InstanceMigration:
    matched, unrecorded = _match(tasks, steps)
    result = InstanceMigration(
        instance_id=row.id,
        name=row.name,
        restaurant=row.restaurant,
        status=row.status,
        from_version=recorded_version(row.metadata),
        to_version=version,
        matched_by="order_and_name" if unrecorded else "step_id",
    )
    history = [t for t in tasks if t.status in HISTORY]
    actives = [t for t in tasks if t.status == "active"]
    active = actives[0] if actives else None
    pending = [t for t in tasks if t.status == "pending"]
    # the instance's position in the current steps: its active step, else its last finished
    # one; when that step is gone, the nearest earlier one that is still there
    index = {s.step_id: i for i, s in enumerate(steps)}
    anchor = active or (max(history, key=lambda t: t.order) if history else None)
    position = -1
    if anchor is not None:
        if anchor.id in matched:
            position = index[matched[anchor.id].step_id]
        else:
            before = [
                t
                for t in (*history, *actives)
                if t.id in matched and t.order <= anchor.order and t is not anchor
            ]
            if before:
                position = index[matched[max(before, key=lambda t: t.order).id].step_id]
    by_step = {matched[t.id].step_id: t for t in tasks if t.id in matched}
    done_steps = {matched[t.id].step_id for t in history if t.id in matched}
    cancel_reason: dict[str, str] = {}
    next_pending: list[tuple[Step, _Task | None]] = []  # the new pending tasks, in order
    active_step = matched.get(active.id) if active is not None else None

    for i, step in enumerate(steps):
        task = by_step.get(step.step_id)
        if step.step_id in done_steps and task is not None:
            result.steps.append(
                StepOutcome(DONE, task.name, step.position, task.order, task.id, task.status)
            )
            continue
        if active is not None and task is active:
            fields = _task_fields(active, step)
            moved = active.order != step.position
            result.steps.append(
                StepOutcome(
                    CHANGED if fields else KEPT,
                    step.name,
                    step.position,
                    active.order,
                    active.id,
                    "active",
                    tuple(fields),
                )
            )
            if fields or moved or active.step_id is None:
                result.task_updates.append(
                    renderer.update_row(row, active, step, "active", _sequence_metadata(
                        active, step, template_id), rewrite=bool(fields))
                )  # fmt: skip
            continue
        if i <= position:
            result.steps.append(
                StepOutcome(
                    PASSED,
                    step.name,
                    step.position,
                    task.order if task else None,
                    task.id if task else None,
                    task.status if task else None,
                )
            )
            if task is not None and task.status == "pending":
                cancel_reason[task.id] = "moved_before_position"
            continue
        if task is not None and task.status == "pending":
            next_pending.append((step, task))
            continue
        next_pending.append((step, None))

    # pending tasks whose step is gone or passed, and an active task whose step is gone
    for t in (*pending, *actives[:1]):
        if t.id in matched and t.id not in cancel_reason:
            continue
        reason = cancel_reason.get(t.id, "step_removed")
        if reason == "step_removed":
            result.steps.append(StepOutcome(REMOVED, t.name, None, t.order, t.id, t.status))
        metadata = dict(t.metadata)
        metadata["sequence"] = {
            **t.sequence,
            "removed_by_migration": True,
            "closed_by": "migration",
            "migration_reason": reason,
        }
        result.task_updates.append(renderer.cancel_row(t, metadata))
    for t in history:  # history whose step is gone: shown, never written
        if t.id not in matched:
            result.steps.append(StepOutcome(DONE, t.name, None, t.order, t.id, t.status))
    for t in actives[1:]:  # never two active tasks: a second one is left as it is, reported
        result.steps.append(StepOutcome(KEPT, t.name, None, t.order, t.id, t.status))

    # the active step after the migration
    starts_now = active is not None and active_step is None
    activate_first = starts_now and row.status == "active" and bool(next_pending)
    for n, (step, task) in enumerate(next_pending):
        becomes_active = activate_first and n == 0
        status = "active" if becomes_active else "pending"
        due = add_delay(now, step.delay_value, step.delay_unit, zone) if becomes_active else None
        metadata = _sequence_metadata(task, step, template_id)
        if task is None:
            result.steps.append(StepOutcome(ADDED, step.name, step.position, None, None, None))
            result.task_inserts.append(renderer.insert_row(row, step, status, due, metadata,
                                                           _assignee(row, tasks)))  # fmt: skip
        else:
            fields = _task_fields(task, step)
            result.steps.append(
                StepOutcome(
                    CHANGED if fields else KEPT,
                    step.name,
                    step.position,
                    task.order,
                    task.id,
                    "pending",
                    tuple(fields),
                )
            )
            if fields or task.order != step.position or becomes_active or task.step_id is None:
                result.task_updates.append(
                    renderer.update_row(
                        row, task, step, "pending", metadata, status, due, rewrite=bool(fields)
                    )
                )
        if becomes_active:
            result.due_changes.append(DueChange(task.id if task else None, step.name, None, due))
    result.steps.sort(key=lambda s: (s.new_order or s.old_order or 0, s.new_order is None))

    # the active task's due date
    if active is not None and active_step is not None and reschedule and active.due_date:
        old = active.delay or (active_step.delay_value, active_step.delay_unit)
        started = sub_delay(active.due_date, old[0], old[1], zone)
        due = add_delay(started, active_step.delay_value, active_step.delay_unit, zone)
        if due != active.due_date:
            result.due_changes.append(DueChange(active.id, active_step.name, active.due_date, due))
            update = next((u for u in result.task_updates if u["id"] == active.id), None)
            if update is None:
                update = renderer.update_row(
                    row, active, active_step, "active",
                    _sequence_metadata(active, active_step, template_id), rewrite=False,
                )  # fmt: skip
                result.task_updates.append(update)
            update["due_date"], update["set_due"] = due.isoformat(), True

    result.active_before = active.name if active else None
    if active_step is not None:
        result.active_after, result.active_after_order = active_step.name, active_step.position
    elif starts_now and next_pending:
        result.active_after = next_pending[0][0].name
        result.active_after_order = next_pending[0][0].position
    result.starts_now = starts_now
    result.completes = activate_first is False and starts_now and row.status == "active"
    current = result.active_after_order
    if current is None and anchor is not None and anchor.id in matched:
        current = matched[anchor.id].position
    result.instance_update = {
        "id": row.id,
        "total_steps": len(steps),
        "current_step_order": current if current is not None else row.current_step_order,
        "complete": result.completes,
        "version": version,
    }
    return result


def _assignee(row: Any, tasks: list[_Task]) -> str | None:
    """New tasks go to whoever has the instance's latest task, else its assignee."""
    for t in sorted(tasks, key=lambda t: t.order, reverse=True):
        if t.assigned_to:
            return t.assigned_to
    return str(row.assigned_to) if row.assigned_to else None


class _Renderer:
    """Renders a step's message and subject for a restaurant, as apply does (spec §5)."""

    def __init__(
        self,
        conn: Connection,
        organisation: Organisation,
        template: Template,
        steps: list[Step],
        rows: Sequence[Any],
        timezone: str,
        now: datetime,
        crm: Any,
    ) -> None:
        metadata = conn.execute(SELECT_TEMPLATE, {"id": template.id, "org": organisation.id})
        found = metadata.scalar()
        entry = (found if isinstance(found, dict) else {}).get(SEQCTL_KEY)
        variables = entry.get("variables") if isinstance(entry, dict) else None
        declared = Declared(dict(variables) if isinstance(variables, dict) else {})
        self.messages = {
            s.step_id: compile_message(s.message, declared.names) if s.message is not None else None
            for s in steps
        }
        self.subjects = {
            s.step_id: compile_message(s.subject, declared.names)
            if s.subject is not None and s.type == "email"
            else None
            for s in steps
        }
        self.today = Today(local_date(now, timezone), timezone)
        self.declared = declared
        used = {
            n for c in (*self.messages.values(), *self.subjects.values()) if c for n in c.variables
        }
        ids = sorted({r.restaurant_id for r in rows}) if used else []
        self.details = _restaurant_details(conn, organisation.id, ids, crm)[0] if ids else {}
        self.values: dict[str, Mapping[str, str | None]] = {}

    def _values(self, restaurant_id: str) -> Mapping[str, str | None]:
        if restaurant_id not in self.values:
            detail = self.details.get(restaurant_id)
            self.values[restaurant_id] = (
                variable_values(detail[0], today=self.today, declared=self.declared)
                if detail
                else {}
            )
        return self.values[restaurant_id]

    def texts(self, row: Any, step: Step) -> dict[str, str | None]:
        message, subject = self.messages[step.step_id], self.subjects[step.step_id]
        rendered = step.message
        if message is not None and message.variables:
            rendered = message.render(self._values(row.restaurant_id))
        subject_rendered = None
        if step.type == "email":
            subject_rendered = step.subject
            if subject is not None and subject.variables:
                subject_rendered = subject.render(self._values(row.restaurant_id))
        return {
            "message": step.message,
            "message_rendered": rendered,
            "subject_line": step.subject,
            "subject_line_rendered": subject_rendered,
        }

    def update_row(
        self,
        row: Any,
        task: _Task,
        step: Step,
        expected: str,
        metadata: dict[str, Any],
        status: str | None = None,
        due: datetime | None = None,
        *,
        rewrite: bool = True,
    ) -> dict[str, Any]:
        found = {
            "id": task.id,
            "instance_id": row.id,
            "expected": expected,
            "status": status or expected,
            "rewrite": rewrite,
            "set_due": due is not None,
            "due_date": due.isoformat() if due else None,
            "step_order": step.position,
            "metadata": metadata,
        }
        if rewrite:  # only changed tasks get the step's fields and re-rendered texts
            found.update(
                name=step.name,
                description=step.description,
                type=step.type,
                priority=step.priority,
                task_template_id=step.task_template_id,
                message_template_id=step.message_template_id,
                **self.texts(row, step),
            )
        return found

    def cancel_row(self, task: _Task, metadata: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": task.id,
            "expected": task.status,
            "status": "cancelled",
            "rewrite": False,
            "set_due": False,
            "metadata": metadata,
            "step_order": task.order,
        }

    def insert_row(
        self,
        row: Any,
        step: Step,
        status: str,
        due: datetime | None,
        metadata: dict[str, Any],
        assignee: str | None,
    ) -> dict[str, Any]:
        return {
            "instance_id": row.id,
            "restaurant_id": row.restaurant_id,
            "status": status,
            "name": step.name,
            "description": step.description,
            "type": step.type,
            "priority": step.priority,
            "task_template_id": step.task_template_id,
            "message_template_id": step.message_template_id,
            **self.texts(row, step),
            "due_date": due.isoformat() if due else None,
            "step_order": step.position,
            "metadata": metadata,
            "assigned_to": assignee,
        }


# -- writing ---------------------------------------------------------------------------

TASK_RECORD = (
    "d(id uuid, instance_id uuid, expected text, status text, rewrite boolean,"
    " set_due boolean, name text,"
    " description text, type text, priority text, task_template_id uuid,"
    " message_template_id uuid, message text, message_rendered text, subject_line text,"
    " subject_line_rendered text, due_date timestamptz, step_order int, metadata jsonb,"
    " restaurant_id uuid, assigned_to uuid)"
)


def _update_tasks(with_subject: bool) -> Any:
    subject = (
        " subject_line = CASE WHEN d.rewrite THEN d.subject_line ELSE t.subject_line END,"
        " subject_line_rendered = CASE WHEN d.rewrite THEN d.subject_line_rendered"
        " ELSE t.subject_line_rendered END,"
        if with_subject
        else ""
    )
    return text(
        "UPDATE tasks t SET status = d.status,"
        " cancelled_at = CASE WHEN d.status = 'cancelled' THEN CAST(:now AS timestamptz)"
        " ELSE t.cancelled_at END,"
        " name = CASE WHEN d.rewrite THEN d.name ELSE t.name END,"
        " description = CASE WHEN d.rewrite THEN d.description ELSE t.description END,"
        " type = CASE WHEN d.rewrite THEN d.type ELSE t.type END,"
        " priority = CASE WHEN d.rewrite THEN d.priority ELSE t.priority END,"
        " task_template_id = CASE WHEN d.rewrite THEN d.task_template_id"
        " ELSE t.task_template_id END,"
        " message_template_id = CASE WHEN d.rewrite THEN d.message_template_id"
        " ELSE t.message_template_id END,"
        " message = CASE WHEN d.rewrite THEN d.message ELSE t.message END,"
        " message_rendered = CASE WHEN d.rewrite THEN d.message_rendered"
        " ELSE t.message_rendered END," + subject + " due_date = CASE WHEN d.set_due THEN"
        " d.due_date ELSE t.due_date END,"
        " sequence_step_order = d.step_order, metadata = d.metadata"
        f" FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS {TASK_RECORD}"
        " WHERE t.id = d.id AND t.status = d.expected"
        " AND t.organisation_id = CAST(:org AS uuid)"
    )


def _insert_tasks(with_subject: bool) -> Any:
    columns = " subject_line, subject_line_rendered," if with_subject else ""
    values = " d.subject_line, d.subject_line_rendered," if with_subject else ""
    return text(
        "INSERT INTO tasks (organisation_id, restaurant_id, task_template_id,"
        " message_template_id, name, description, type, status, priority, message,"
        " message_rendered," + columns + " due_date, assigned_to, created_by, metadata,"
        " sequence_instance_id, sequence_step_order)"
        " SELECT CAST(:org AS uuid), d.restaurant_id, d.task_template_id,"
        " d.message_template_id, d.name, d.description, d.type, d.status, d.priority,"
        " d.message, d.message_rendered," + values + " d.due_date, d.assigned_to,"
        " CAST(:acting AS uuid), d.metadata, d.instance_id, d.step_order"
        f" FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS {TASK_RECORD}"
    )


UPDATE_INSTANCES = text(
    "UPDATE sequence_instances si SET total_steps = d.total_steps,"
    " current_step_order = d.current_step_order,"
    " status = CASE WHEN d.complete THEN 'completed' ELSE si.status END,"
    " completed_at = CASE WHEN d.complete THEN CAST(:now AS timestamptz) ELSE si.completed_at"
    " END,"
    " metadata = COALESCE(si.metadata, '{}'::jsonb) || jsonb_build_object('seqctl',"
    " COALESCE(si.metadata -> 'seqctl', '{}'::jsonb)"
    " || jsonb_build_object('template_version', d.version))"
    " FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS d(id uuid, total_steps int,"
    " current_step_order int, complete boolean, version int)"
    " WHERE si.id = d.id AND si.organisation_id = CAST(:org AS uuid)"
    " AND si.status IN ('active', 'paused')"
)
RECORD_VERSION = text(
    "UPDATE sequence_templates SET metadata = COALESCE(metadata, '{}'::jsonb)"
    " || jsonb_build_object('seqctl', COALESCE(metadata -> 'seqctl', '{}'::jsonb)"
    " || jsonb_build_object('version', CAST(:version AS int)))"
    " WHERE id = CAST(:id AS uuid) AND organisation_id = CAST(:org AS uuid)"
)


@dataclass(frozen=True)
class MigrationResult:
    instances: int
    tasks_updated: int
    tasks_inserted: int


def apply_migration(
    conn: Connection, migration: Migration, *, acting_user: str | None = None
) -> MigrationResult:
    """Write ``migration`` (made by ``plan_migration(lock=True)`` in this transaction) in at
    most four statements. Conflict if a task changed under it (the caller rolls back)."""
    org = migration.organisation.id
    acting = resolve_user(conn, acting_user) if acting_user else None
    crm = crm_columns(conn)
    with_subject = crm.has("tasks", "subject_line") and crm.has("tasks", "subject_line_rendered")
    updates = [u for m in migration.instances for u in m.task_updates]
    inserts = [u for m in migration.instances for u in m.task_inserts]
    instances = [m.instance_update for m in migration.instances]
    params = {"org": org, "now": migration.now, "acting": acting}
    if not migration.version_recorded:  # a template seqctl never versioned: it is v1 now
        conn.execute(
            RECORD_VERSION, {"id": migration.template.id, "org": org, "version": migration.version}
        )
    done = 0
    if updates:
        done = conn.execute(
            _update_tasks(with_subject), {**params, "rows": _json(updates)}
        ).rowcount
        if done != len(updates):
            raise Conflict(
                f"{len(updates) - done} task(s) of the instances changed while the migration "
                "was prepared (completed or edited in the web app); nothing was changed",
                hint="run `seqctl migrate` again to see a fresh preview",
            )
    if inserts:
        conn.execute(_insert_tasks(with_subject), {**params, "rows": _json(inserts)})
    if instances:
        moved = conn.execute(UPDATE_INSTANCES, {**params, "rows": _json(instances)}).rowcount
        if moved != len(instances):
            raise Conflict(
                "an instance stopped running while the migration was prepared; nothing was changed",
                hint="run `seqctl migrate` again to see a fresh preview",
            )
    return MigrationResult(len(instances), done, len(inserts))


def migrate_instances(
    conn: Connection,
    organisation: Organisation,
    template_ref: str,
    *,
    restaurants: Sequence[str] = (),
    instances: Sequence[str] = (),
    reschedule: bool = False,
    timezone: str = "UTC",
    now: datetime | None = None,
    acting_user: str | None = None,
) -> Migration:
    """Plan and apply in the caller's transaction; returns what was done (the preview)."""
    migration = plan_migration(
        conn,
        organisation,
        template_ref,
        restaurants=restaurants,
        instances=instances,
        reschedule=reschedule,
        timezone=timezone,
        now=now,
    )
    apply_migration(conn, migration, acting_user=acting_user)
    return migration


def _json(rows: Sequence[Any]) -> str:
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=str)


# -- running_instances: migrate (sync) ----------------------------------------------------


class Planned(Protocol):
    """What a sync's template change tells about a template whose instances it migrates."""

    @property
    def template_id(self) -> str | None: ...

    @property
    def key(self) -> str: ...

    @property
    def new_version(self) -> int | None: ...

    @property
    def migration(self) -> Mapping[str, Any] | None: ...


def planned_steps(
    conn: Connection, organisation: Organisation, template_id: str, step_changes: Sequence[Any]
) -> list[Step]:
    """The steps a sync is about to give the template: its current steps with the plan's
    step changes (``StepChange``: kind, step_id, step_order, row) applied, messages chosen as
    ``load_steps`` chooses them. New steps get placeholder ids (``planned:N``)."""
    template = resolve_template(conn, organisation.id, template_id)
    current = {s.step_id: s for s in load_steps(conn, template, organisation)}
    rows: dict[str, tuple[int, dict[str, Any]]] = {}
    for s in current.values():
        rows[s.step_id] = (s.step_order, {})
    for c in step_changes:
        if c.kind == "delete":
            rows.pop(str(c.step_id), None)
        else:
            step_id = str(c.step_id) if c.step_id else f"planned:{c.step_order}"
            rows[step_id] = (int(c.step_order), dict(c.row or {}))
    refs = sorted(
        {str(r.get(k)) for _, r in rows.values() for k in ("message_template_id",
         "task_template_id") if r.get(k)}
    )  # fmt: skip
    content = {}
    if refs:
        content = {
            str(r.id): r
            for r in conn.execute(
                text(
                    "SELECT id, message_content AS message, subject_line AS subject"
                    " FROM message_templates WHERE id = ANY(CAST(:ids AS uuid[]))"
                    " AND organisation_id = CAST(:org AS uuid) UNION ALL"
                    " SELECT id, default_message, NULL FROM task_templates"
                    " WHERE id = ANY(CAST(:ids AS uuid[])) AND organisation_id = CAST(:org AS uuid)"
                ),
                {"ids": refs, "org": organisation.id},
            )
        }
    steps: list[Step] = []
    for position, (step_id, (order, row)) in enumerate(
        sorted(rows.items(), key=lambda item: item[1][0]), start=1
    ):
        if not row:  # unchanged: as it is
            s = current[step_id]
            steps.append(Step(position, *_fields(s)))
            continue
        mt = content.get(str(row.get("message_template_id")))
        tt = content.get(str(row.get("task_template_id")))
        message = (
            (mt.message if mt is not None and mt.message else None)
            or row.get("custom_message")
            or (tt.message if tt is not None else None)
        )
        subject = (
            (mt.subject if mt is not None and mt.subject else None) or row.get("subject_line")
            if row.get("type") == "email"
            else row.get("subject_line")
        )
        steps.append(
            Step(
                position,
                step_id,
                order,
                str(row["name"]),
                row.get("description"),
                str(row["type"]),
                str(row.get("priority") or "medium"),
                row.get("task_template_id"),
                row.get("message_template_id"),
                message,
                int(row.get("delay_value") or 0),
                str(row.get("delay_unit") or "days"),
                subject,
            )  # fmt: skip
        )
    return steps


def _fields(s: Step) -> tuple[Any, ...]:
    return (s.step_id, s.step_order, s.name, s.description, s.type, s.priority,
            s.task_template_id, s.message_template_id, s.message, s.delay_value, s.delay_unit,
            s.subject)  # fmt: skip


def preview_sync_migration(
    conn: Connection,
    organisation: Organisation,
    template_id: str,
    step_changes: Sequence[Any],
    version: int | None,
    *,
    timezone: str = "UTC",
) -> dict[str, Any]:
    """What a sync with ``running_instances: migrate`` will do to the template's running
    instances (read only): counts, and the digest that makes a saved plan stale."""
    steps = planned_steps(conn, organisation, template_id, step_changes)
    migration = plan_migration(
        conn, organisation, template_id, timezone=timezone, lock=False, steps=steps,
        version=version,
    )  # fmt: skip
    return {**migration.counts(), "state": migration.state}


def migrate_after_sync(
    conn: Connection,
    organisation: Organisation,
    changes: Sequence[Planned],
    *,
    acting_user: str | None = None,
    timezone: str = "UTC",
) -> list[Migration]:
    """Migrate the running instances of the templates a sync just changed (in the sync's
    transaction: any failure rolls the whole sync back). A change made from a saved plan
    carries the instances' state when it was made; if they moved on since, Conflict."""
    done = []
    for change in changes:
        if change.template_id is None:
            continue
        migration = plan_migration(conn, organisation, change.template_id, timezone=timezone)
        saved = (change.migration or {}).get("state")
        if saved and saved != migration.state:
            raise Conflict(
                f"stale plan: running instances of {change.key!r} progressed since the plan "
                "was made, so its migration preview no longer holds",
                hint="make a new plan with `seqctl plan --out FILE`, review it and apply that",
            )
        apply_migration(conn, migration, acting_user=acting_user)
        done.append(migration)
    return done

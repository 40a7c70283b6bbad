"""Planning a migration (spec §9): lock, read, and work out the preview of every instance.

``plan_migration`` locks the template row (``FOR SHARE``: a sync that edits it waits, and
so does an ``apply``) and the running instances (``FOR UPDATE`` in id order, the lock
``task complete`` and ``advance`` take before they activate a step), reads a summary of
their tasks (``migrate_read``), works out the plan once per instance state
(``migrate_shape``) and then, per instance, only what differs: its task ids, the due
dates that start now or are rescheduled (``migrate_dates``, through the template's
schedule in the instance's zone, §10), the assignee of its new tasks. Nothing is written
here; ``migrate_write.apply_migration`` writes exactly what the preview shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..config import DEFAULT_TIMEZONE
from ..db.crm_columns import crm_columns
from ..db.versions import SEQCTL_KEY, version_of
from ..errors import Conflict, NotFound, Refused
from ..pg import Connection
from .clock import begin_clock
from .lookup import Organisation, require_uuids, resolve_template, restaurant_ids
from .migrate_dates import DueDates
from .migrate_model import DueChange, InstanceMigration, Migration, Shape
from .migrate_read import (
    read_instances,
    read_tasks,
    representatives,
    state_digest,
    template_metadata,
)
from .migrate_render import Renderer
from .migrate_shape import plan_shape
from .steps import Step, load_steps


def plan_migration(
    conn: Connection,
    organisation: Organisation,
    template_ref: str,
    *,
    restaurants: Sequence[str] = (),
    instances: Sequence[str] = (),
    reschedule: bool = False,
    timezone: str = DEFAULT_TIMEZONE,
    now: datetime | None = None,
    lock: bool = True,
    steps: list[Step] | None = None,
    version: int | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Migration:
    """Work out the migration of the template's running instances (optionally only those
    of ``restaurants`` or the ``instances`` given). With ``lock`` the template row and the
    instances stay locked until the caller's transaction ends (apply in the same one).
    ``steps``/``version``/``metadata``: the steps, version and template metadata a sync is
    about to write (a preview of ``running_instances: migrate``; never applied), instead
    of the template's own."""
    now = begin_clock(conn, timezone, now)
    template = resolve_template(conn, organisation.id, template_ref)
    stored = template_metadata(conn, template.id, organisation.id, lock=lock)
    if stored is None:
        raise Conflict(
            f"template {template.name!r} ({template.id}) was deleted meanwhile",
            hint="nothing was changed",
        )
    entry = stored.get(SEQCTL_KEY)
    recorded = isinstance(entry, Mapping) and "version" in entry
    version = version_of(stored) if version is None else version
    metadata = stored if metadata is None else dict(metadata)
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
    crm = crm_columns(conn)
    with_subject = crm.has("tasks", "subject_line") and crm.has("tasks", "subject_line_rendered")
    rows = read_instances(
        conn,
        template.id,
        organisation.id,
        restaurant_filter,
        instance_filter,
        lock=lock,
        with_subject=with_subject,
    )
    if instance_filter:
        missing = sorted(set(instance_filter) - {r.id for r in rows})
        if missing:
            raise NotFound(
                f"no running (active or paused) instance {', '.join(missing)} of template "
                f"{template.name!r}",
                hint="`seqctl status --template "
                f"{template.key or template.id} --status active` lists them",
            )
    # §10: the schedule each step's tasks are scheduled with, and each restaurant's zone
    schedule = None
    if _has_schedule(metadata, steps):  # (the schedule engine is imported only then)
        from .scheduling import restaurant_zones, template_schedule

        schedule = template_schedule(metadata, {s.position: s.hours for s in steps})
    dates = DueDates(timezone, now, schedule)
    zones: dict[str, str] = {}
    if schedule is not None and rows:
        zones = restaurant_zones(
            conn, crm, organisation.id, sorted({r.restaurant_id for r in rows}),
            schedule.timezone, timezone,
        ).by_restaurant  # fmt: skip
    records = dates.records(steps)
    # one plan per instance state, from the tasks of its first instance
    firsts = representatives(rows)
    tasks = read_tasks(conn, sorted(set(firsts.values())), with_subject=with_subject)
    shapes: dict[tuple[str, str], Shape] = {
        state: plan_shape(
            number, state[0], tasks[first], steps, reschedule=reschedule, records=records
        )
        for number, (state, first) in enumerate(firsts.items())
    }
    migrations = []
    for row in rows:
        shape = shapes[(row.status, row.key)]
        zone = zones.get(row.restaurant_id) if schedule is not None else None
        m = InstanceMigration(
            instance_id=row.id,
            name=row.name,
            restaurant=row.restaurant,
            restaurant_id=row.restaurant_id,
            status=row.status,
            from_version=row.version,
            to_version=version,
            shape=shape,
            task_ids=row.task_ids,
            assignee=row.assignee or row.assigned_to,
            zone=zone,
        )
        _due_changes(m, shape, dates, row.active_due, row.activated_at)
        migrations.append(m)
    migration = Migration(
        organisation, template, version, steps, reschedule, now, migrations, recorded,
        state_digest(rows), records, Renderer(metadata, steps, timezone, now),
    )  # fmt: skip
    return migration


def _has_schedule(metadata: Mapping[str, Any], steps: list[Step]) -> bool:
    """Whether the template or one of its steps has a schedule (§10)."""
    entry = metadata.get(SEQCTL_KEY)
    return bool(isinstance(entry, Mapping) and entry.get("schedule")) or any(s.hours for s in steps)


def _due_changes(
    m: InstanceMigration,
    shape: Shape,
    dates: DueDates,
    active_due: datetime | None,
    activated_at: datetime | None,
) -> None:
    """The instance's due dates that change: the step that starts now, the rescheduled one."""
    for w in shape.writes:
        if w.activates and w.step is not None:
            m.activate_due = dates.starting_now(w.step, m.zone)
            m.due_changes.append(DueChange(m.task_ids[w.index], w.step.name, None, m.activate_due))
    for i in shape.inserts:
        if i.activates:
            m.activate_due = dates.starting_now(i.step, m.zone)
            m.due_changes.append(DueChange(None, i.step.name, None, m.activate_due))
    step = shape.rescheduled
    if step is not None and active_due is not None and shape.active_index is not None:
        assert shape.old_delay is not None
        due = dates.rescheduled(step, m.zone, active_due, shape.old_delay, activated_at)
        if due != active_due:
            m.reschedule_due = due
            m.due_changes.append(
                DueChange(m.task_ids[shape.active_index], step.name, active_due, due)
            )

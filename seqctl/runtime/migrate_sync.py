"""``running_instances: migrate`` (spec §9): ``sync`` previews and migrates the running
instances of the templates it changes, in its own transaction.

``preview_sync_migration`` works out, read only, what a sync is about to do to a
template's running instances (for ``plan``): the steps the sync will give the template
(``planned_steps``) against the instances as they are now, and the digest of their state
that makes a saved plan stale once one of them progresses. ``migrate_after_sync`` runs
after the sync's writes and migrates them for real (any failure rolls the sync back).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ..config import DEFAULT_TIMEZONE
from ..errors import Conflict
from ..pg import Connection, tx
from ..vocabulary import DEFAULT_DELAY_UNIT, DEFAULT_DELAY_VALUE, DEFAULT_PRIORITY
from .lookup import Organisation, resolve_template
from .migrate_model import Migration
from .migrate_plan import plan_migration
from .migrate_write import apply_migration
from .steps import Step, load_steps


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
            for r in tx(conn).rows(
                "SELECT id, message_content AS message, subject_line AS subject"
                " FROM message_templates WHERE id = ANY(CAST(:ids AS uuid[]))"
                " AND organisation_id = CAST(:org AS uuid) UNION ALL"
                " SELECT id, default_message, NULL FROM task_templates"
                " WHERE id = ANY(CAST(:ids AS uuid[])) AND organisation_id = CAST(:org AS uuid)",
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
                str(row.get("priority") or DEFAULT_PRIORITY),
                row.get("task_template_id"),
                row.get("message_template_id"),
                message,
                int(row.get("delay_value") or DEFAULT_DELAY_VALUE),
                str(row.get("delay_unit") or DEFAULT_DELAY_UNIT),
                subject,
                _hours(row.get("metadata")),
            )  # fmt: skip
        )
    return steps


def _hours(metadata: Any) -> str | None:
    """A step row's own window (``metadata.seqctl.hours``, §10), as ``load_steps`` reads it."""
    entry = metadata.get("seqctl") if isinstance(metadata, Mapping) else None
    found = entry.get("hours") if isinstance(entry, Mapping) else None
    return found if isinstance(found, str) else None


def _fields(s: Step) -> tuple[Any, ...]:
    return (s.step_id, s.step_order, s.name, s.description, s.type, s.priority,
            s.task_template_id, s.message_template_id, s.message, s.delay_value, s.delay_unit,
            s.subject, s.hours)  # fmt: skip


def preview_sync_migration(
    conn: Connection,
    organisation: Organisation,
    template_id: str,
    step_changes: Sequence[Any],
    version: int | None,
    *,
    timezone: str = DEFAULT_TIMEZONE,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What a sync with ``running_instances: migrate`` will do to the template's running
    instances (read only): counts, and the digest that makes a saved plan stale.
    ``metadata``: the template row's metadata the sync writes (its schedule, §10)."""
    steps = planned_steps(conn, organisation, template_id, step_changes)
    migration = plan_migration(
        conn, organisation, template_id, timezone=timezone, lock=False, steps=steps,
        version=version, metadata=metadata,
    )  # fmt: skip
    return {**migration.counts(), "state": migration.state}


def migrate_after_sync(
    conn: Connection,
    organisation: Organisation,
    changes: Sequence[Planned],
    *,
    acting_user_id: str | None = None,
    timezone: str = DEFAULT_TIMEZONE,
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
        apply_migration(conn, migration, acting_user_id=acting_user_id)
        done.append(migration)
    return done

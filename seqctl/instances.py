"""Starting a template for restaurants (``seqctl apply``, §4 "Starting").

One transaction per run and a constant number of statements per batch of restaurants:
the instances in one ``INSERT … SELECT`` over ``unnest`` arrays, all their tasks in a
second one. A transaction-scoped advisory lock per template serialises concurrent runs,
so a restaurant never gets two active or paused instances of the same template.
Messages are rendered in Python (single pass, see ``rendering``) and sent as arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from .activation import with_activated_at
from .clock import begin_clock, delay_interval_sql, local_date
from .errors import Conflict, InvalidInput, Refused, UsageError
from .lookup import Organisation, require_member, resolve_user
from .rendering import CompiledMessage, variable_values
from .resolve import Template, resolve_restaurants, resolve_template
from .steps import Step, load_steps, steps_json

BATCH_SIZE = 2500  # restaurants per pair of INSERT statements (and per progress-bar step)

STARTED = "started"
ALREADY_ACTIVE = "already_active"
WOULD_START = "would_start"
RESOLVED = "resolved"  # found, but not started because other restaurants were not


@dataclass
class RestaurantOutcome:
    ref: str
    result: str  # started | already_active | would_start | an error code of resolve.py
    restaurant_id: str | None = None
    restaurant_name: str | None = None
    instance_id: str | None = None
    message: str | None = None


@dataclass
class TaskPreview:
    step_order: int
    name: str
    type: str
    priority: str
    status: str
    due_date: datetime | None
    delay_value: int
    delay_unit: str
    message: str | None
    message_rendered: str | None
    empty_variables: list[str]


@dataclass
class InstancePreview:
    restaurant_id: str
    restaurant_name: str
    name: str
    tasks: list[TaskPreview]

    @property
    def empty_variables(self) -> list[str]:
        return list(dict.fromkeys(v for t in self.tasks for v in t.empty_variables))


@dataclass
class ApplyReport:
    template: Template
    total_steps: int
    dry_run: bool
    outcomes: list[RestaurantOutcome]
    previews: list[InstancePreview] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)


class UnknownRestaurants(InvalidInput):
    """Some restaurants could not be used; nothing was written."""

    def __init__(self, outcomes: list[RestaurantOutcome]) -> None:
        bad = [o for o in outcomes if o.result != RESOLVED]
        listing = "; ".join(o.message or o.ref for o in bad)
        super().__init__(
            f"{len(bad)} restaurant(s) cannot be used, nothing was started: {listing}",
            hint="restaurants are given by exact name or UUID and must belong to the organisation",
        )
        self.outcomes = outcomes


def apply_template(
    conn: Connection,
    organisation: Organisation,
    template_ref: str,
    restaurant_refs: Sequence[str],
    *,
    assign_to: str | None = None,
    acting_user: str | None = None,
    timezone: str = "UTC",
    dry_run: bool = False,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> ApplyReport:
    """Start the template for the restaurants; ``assign_to``/``acting_user``: email or UUID."""
    now = begin_clock(conn, timezone, now)
    template = resolve_template(conn, organisation.id, template_ref)
    if not template.is_active:
        raise Refused(
            f"template {template.name!r} ({template.id}) is inactive; it cannot be started",
            hint="set is_active: true in its file and run `seqctl sync`, or activate it in the app",
        )
    if not dry_run:
        _lock_template(conn, organisation, template)
    steps = load_steps(conn, template, organisation)
    if not steps:
        raise Refused(
            f"template {template.name!r} ({template.id}) has no steps; it cannot be started",
            hint="add steps to the template first",
        )
    if not any(r.strip() for r in restaurant_refs):
        raise UsageError("no restaurant given", hint="use --restaurant or --restaurants-file")
    matches = resolve_restaurants(conn, organisation.id, restaurant_refs)
    if any(m.row is None for m in matches):
        raise UnknownRestaurants(
            [
                RestaurantOutcome(m.ref, RESOLVED, str(m.row["id"]), m.row["name"])
                if m.row is not None
                else RestaurantOutcome(m.ref, m.error or "restaurant_not_found", message=m.message)
                for m in matches
            ]
        )
    acting = resolve_user(conn, acting_user) if acting_user else None
    assigned = resolve_user(conn, assign_to) if assign_to else acting
    if assigned is not None:  # an assignee must be a member of the organisation (spec §7)
        require_member(
            conn,
            assigned,
            organisation,
            f"--assign-to {assign_to!r}"
            if assign_to
            else f"the acting user {acting_user!r} (the default assignee)",
        )
    refs: dict[str, str] = {}  # restaurant id -> the first reference naming it
    rows: list[dict[str, Any]] = []
    for m in matches:
        if m.row is not None and str(m.row["id"]) not in refs:
            refs[str(m.row["id"])] = m.ref
            rows.append(m.row)
    report = ApplyReport(template, len(steps), dry_run, [])
    today = local_date(now, timezone)
    compiled = [step.compiled for step in steps]
    if progress is not None:
        progress(0, len(rows))
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        names = [f"{template.name} - {r['name']} - {today.isoformat()}" for r in batch]
        values = [
            variable_values(r, organisation_name=organisation.name, today=today) for r in batch
        ]
        if dry_run:
            _preview(conn, report, template, steps, compiled, batch, names, values, now)
        else:
            started = _start_batch(
                conn,
                organisation.id,
                template,
                steps,
                compiled,
                batch,
                names,
                values,
                now,
                assigned,
                acting,
            )
            for r in batch:
                result, instance_id = started[str(r["id"])]
                report.outcomes.append(
                    RestaurantOutcome(
                        refs[str(r["id"])], result, str(r["id"]), r["name"], instance_id
                    )
                )
        if progress is not None:
            progress(min(start + batch_size, len(rows)), len(rows))
    if dry_run:
        for r in rows:
            outcome = next(o for o in report.outcomes if o.restaurant_id == str(r["id"]))
            outcome.ref = refs[str(r["id"])]
    elif report.count(STARTED):
        conn.execute(
            text("UPDATE sequence_templates SET usage_count = usage_count + :n WHERE id = :id"),
            {"n": report.count(STARTED), "id": template.id},
        )
    return report


def _lock_template(conn: Connection, organisation: Organisation, template: Template) -> None:
    """Serialise this run with other applies and with syncs of the template (spec §7).

    First a transaction-scoped advisory lock per template, so that two applies never start
    two instances for one restaurant. Then the template row ``FOR NO KEY UPDATE``: the lock
    the ``usage_count`` update takes at the end anyway, taken up front (so never upgraded).
    It conflicts with the ``FOR UPDATE`` a sync takes on the templates it deactivates or
    deletes, and with any ``UPDATE`` of the row (the web app switching it off), but not with
    the key-share locks of other clients inserting instances. A sync that committed while
    this waited is seen here: ``is_active`` and the row itself are read again under the lock
    (READ COMMITTED: this statement returns the latest committed version), and the steps
    are read after it.
    """
    conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"seqctl.apply:{template.id}"},
    )
    row = conn.execute(
        text(
            "SELECT is_active FROM sequence_templates WHERE id = CAST(:id AS uuid)"
            " AND organisation_id = CAST(:org AS uuid) FOR NO KEY UPDATE"
        ),
        {"id": template.id, "org": organisation.id},
    ).first()
    if row is None:
        raise Conflict(
            f"template {template.name!r} ({template.id}) was deleted while this apply waited "
            "for it (by `seqctl sync --prune` or in the web app); nothing was started",
            hint="to start it again, restore its file and run `seqctl sync` (it is created "
            "anew), then run this apply again",
        )
    if not row.is_active:
        raise Refused(
            f"template {template.name!r} ({template.id}) is inactive: it was deactivated while "
            "this apply waited for it (by `seqctl sync` or in the web app); nothing was started",
            hint="set is_active: true in its file and run `seqctl sync`, or activate it in the app",
        )


# The active or paused instance of the template, per restaurant: a restaurant that has one
# is skipped (already_active). Shared by apply and its dry run.
RUNNING_INSTANCES = (
    "SELECT DISTINCT ON (si.restaurant_id) si.restaurant_id, si.id FROM sequence_instances si"
    " WHERE si.sequence_template_id = CAST(:template_id AS uuid)"
    " AND si.restaurant_id = ANY(CAST(:restaurant_ids AS uuid[]))"
    " AND si.status IN ('active', 'paused') ORDER BY si.restaurant_id, si.started_at"
)

INSERT_INSTANCES = text(
    "WITH wanted AS ("
    "  SELECT w.restaurant_id, w.name FROM unnest(CAST(:restaurant_ids AS uuid[]), "
    "  CAST(:names AS text[])) AS w(restaurant_id, name)"
    "), existing AS (" + RUNNING_INSTANCES + "), inserted AS ("
    "  INSERT INTO sequence_instances (sequence_template_id, restaurant_id, organisation_id, name,"
    "  status, current_step_order, total_steps, assigned_to, created_by, started_at)"
    "  SELECT CAST(:template_id AS uuid), w.restaurant_id, CAST(:org AS uuid), w.name, 'active',"
    "  1, :total, CAST(:assigned AS uuid), CAST(:acting AS uuid), CAST(:now AS timestamptz)"
    "  FROM wanted w"
    "  WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.restaurant_id = w.restaurant_id)"
    "  RETURNING id, restaurant_id"
    ") SELECT 'started' AS result, restaurant_id, id FROM inserted"
    " UNION ALL SELECT 'already_active', restaurant_id, id FROM existing"
)

INSERT_TASKS = text(
    "INSERT INTO tasks (organisation_id, restaurant_id, task_template_id, message_template_id,"
    " name, description, type, status, priority, message, message_rendered, due_date,"
    " assigned_to, created_by, metadata, sequence_instance_id, sequence_step_order) "
    "SELECT CAST(:org AS uuid), x.restaurant_id, s.task_template_id, s.message_template_id, s.name,"
    " s.description, s.type, CASE WHEN s.position = 1 THEN 'active' ELSE 'pending' END,"
    " s.priority, s.message, COALESCE(x.rendered, s.message),"
    " CASE WHEN s.position = 1 THEN CAST(:now AS timestamptz) + "
    + delay_interval_sql("s.delay_value", "s.delay_unit")
    + " END, CAST(:assigned AS uuid), CAST(:acting AS uuid),"
    " CASE WHEN s.position = 1 THEN "
    + with_activated_at("s.metadata", "CAST(:now AS timestamptz)")
    + " ELSE s.metadata END, x.instance_id, s.position "
    "FROM unnest(CAST(:instance_ids AS uuid[]), CAST(:restaurant_ids AS uuid[]),"
    " CAST(:positions AS int[]), CAST(:rendered AS text[]))"
    " AS x(instance_id, restaurant_id, position, rendered) "
    "JOIN jsonb_to_recordset(CAST(:steps AS jsonb)) AS s(position int, name text,"
    " description text, type text, priority text, task_template_id uuid,"
    " message_template_id uuid, message text, delay_value int, delay_unit text, metadata jsonb)"
    " ON s.position = x.position"
)


def _start_batch(
    conn: Connection,
    org_id: str,
    template: Template,
    steps: list[Step],
    compiled: list[CompiledMessage | None],
    batch: list[dict[str, Any]],
    names: list[str],
    values: list[dict[str, str | None]],
    now: datetime,
    assigned: str | None,
    acting: str | None,
) -> dict[str, tuple[str, str]]:
    """Insert the batch's instances and tasks; restaurant id -> (result, instance id)."""
    params = {
        "template_id": template.id,
        "org": org_id,
        "now": now,
        "assigned": assigned,
        "acting": acting,
    }
    rows = conn.execute(
        INSERT_INSTANCES,
        {
            **params,
            "restaurant_ids": [str(r["id"]) for r in batch],
            "names": names,
            "total": len(steps),
        },
    ).all()
    outcome = {str(r.restaurant_id): (r.result, str(r.id)) for r in rows}
    instance_ids: list[str] = []
    restaurant_ids: list[str] = []
    positions: list[int] = []
    rendered: list[str | None] = []
    for restaurant, vals in zip(batch, values, strict=True):
        result, instance_id = outcome[str(restaurant["id"])]
        if result != STARTED:
            continue
        for step, message in zip(steps, compiled, strict=True):
            instance_ids.append(instance_id)
            restaurant_ids.append(str(restaurant["id"]))
            positions.append(step.position)
            rendered.append(message.render(vals) if message and message.variables else None)
    if instance_ids:
        conn.execute(
            INSERT_TASKS,
            {
                **params,
                "instance_ids": instance_ids,
                "restaurant_ids": restaurant_ids,
                "positions": positions,
                "rendered": rendered,
                "steps": steps_json(template.id, steps),
            },
        )
    return outcome


def _preview(
    conn: Connection,
    report: ApplyReport,
    template: Template,
    steps: list[Step],
    compiled: list[CompiledMessage | None],
    batch: list[dict[str, Any]],
    names: list[str],
    values: list[dict[str, str | None]],
    now: datetime,
) -> None:
    """What the batch would create, written to ``report`` (reads only)."""
    existing = {
        str(restaurant_id): str(instance_id)
        for restaurant_id, instance_id in conn.execute(
            text(RUNNING_INSTANCES),
            {"template_id": template.id, "restaurant_ids": [str(r["id"]) for r in batch]},
        )
    }
    first = steps[0]
    due = conn.execute(
        text(
            "SELECT CAST(:now AS timestamptz) + "
            + delay_interval_sql("CAST(:v AS int)", "CAST(:u AS text)")
        ),
        {"now": now, "v": first.delay_value, "u": first.delay_unit},
    ).scalar_one()
    for restaurant, name, vals in zip(batch, names, values, strict=True):
        rid = str(restaurant["id"])
        if rid in existing:
            report.outcomes.append(
                RestaurantOutcome(rid, ALREADY_ACTIVE, rid, restaurant["name"], existing[rid])
            )
            continue
        report.outcomes.append(RestaurantOutcome(rid, WOULD_START, rid, restaurant["name"]))
        report.previews.append(
            InstancePreview(
                rid,
                restaurant["name"],
                name,
                [
                    TaskPreview(
                        step.position,
                        step.name,
                        step.type,
                        step.priority,
                        "active" if step.position == 1 else "pending",
                        due if step.position == 1 else None,
                        step.delay_value,
                        step.delay_unit,
                        step.message,
                        message.render(vals) if message else None,
                        message.empty_variables(vals) if message else [],
                    )
                    for step, message in zip(steps, compiled, strict=True)
                ],
            )
        )

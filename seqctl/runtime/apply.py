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

from ..db.crm_columns import CrmColumns, crm_columns
from ..db.versions import template_version_sql
from ..errors import Conflict, InvalidInput, Refused, UsageError
from ..pg import Connection, tx
from ..templates.declared import Declared, stored_variables
from ..templates.rendering import (
    RESTAURANT_COLUMNS,
    CompiledMessage,
    Today,
    compile_message,
    missing_columns,
    variable_values,
)
from .activation import with_activated_at
from .clock import delay_interval_sql, local_date
from .context import Context
from .lookup import (
    Organisation,
    Template,
    require_member,
    resolve_restaurants,
    resolve_template,
    resolve_user,
)
from .scheduling import ApplySchedule, restaurant_zones, template_schedule
from .steps import Step, load_steps, steps_json

BATCH_SIZE = 2500  # restaurants per pair of INSERT statements (and per progress-bar step)

STARTED = "started"
ALREADY_ACTIVE = "already_active"
WOULD_START = "would_start"
RESOLVED = "resolved"  # found, but not started because other restaurants were not


@dataclass
class RestaurantOutcome:
    ref: str
    result: str  # started | already_active | would_start | an error code of lookup.py
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
    subject_line: str | None = None
    subject_line_rendered: str | None = None
    assigned_to: str | None = None
    scheduled_in: str | None = None  # §10: the zone of a scheduled task's due date


@dataclass
class InstancePreview:
    restaurant_id: str
    restaurant_name: str
    name: str
    tasks: list[TaskPreview]
    assigned_to: str | None = None

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
    # variable -> the restaurants column the database lacks: it renders empty everywhere
    missing_columns: dict[str, str] = field(default_factory=dict)
    # §10: restaurant id -> why its tasks are scheduled in the configured zone instead
    zone_fallbacks: dict[str, str] = field(default_factory=dict)

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
    context: Context,
    template_ref: str,
    restaurant_refs: Sequence[str],
    *,
    assign_to: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> ApplyReport:
    """Start the template for the restaurants; ``assign_to``: email or UUID (default: the
    restaurant's sales rep, else the context's acting user)."""
    conn, organisation, timezone = context.conn, context.org, context.timezone
    now = context.begin_clock()
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
    acting = context.user.id if context.user is not None else None
    explicit = resolve_user(conn, assign_to, org_id=organisation.id) if assign_to else None
    default = explicit or acting  # the restaurant's sales rep comes first, when a member
    if default is not None:  # an assignee must be a member of the organisation (spec §7)
        require_member(
            conn,
            default,
            organisation,
            f"--assign-to {assign_to!r}"
            if assign_to or context.user is None
            else f"the acting user {context.user.ref!r} (the default assignee)",
        )
    refs: dict[str, str] = {}  # restaurant id -> the first reference naming it
    rows: list[dict[str, Any]] = []
    for m in matches:
        if m.row is not None and str(m.row["id"]) not in refs:
            refs[str(m.row["id"])] = m.ref
            rows.append(m.row)
    report = ApplyReport(template, len(steps), dry_run, [])
    today = local_date(now, timezone)
    crm = crm_columns(conn)
    metadata = _template_metadata(conn, template.id)
    declared = Declared(stored_variables(metadata))
    schedule = template_schedule(metadata, {s.position: s.hours for s in steps})
    scheduling = None
    if schedule is not None:
        zones = restaurant_zones(
            conn, crm, organisation.id, list(refs), schedule.timezone, timezone
        )
        scheduling = ApplySchedule(schedule, zones, timezone, now)
        report.zone_fallbacks = zones.fallbacks
    compiled = [
        compile_message(step.message, declared.names) if step.message is not None else None
        for step in steps
    ]
    subjects = [
        compile_message(step.subject, declared.names)
        if step.subject is not None and step.type == "email"
        else None
        for step in steps
    ]
    used = {name for c in (*compiled, *subjects) if c is not None for name in c.variables}
    details, available = _restaurant_details(conn, organisation.id, list(refs), crm)
    report.missing_columns = missing_columns(sorted(used), available)
    if progress is not None:
        progress(0, len(rows))
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        names = [f"{template.name} - {r['name']} - {today.isoformat()}" for r in batch]
        values = [
            variable_values(
                details[str(r["id"])][0], today=Today(today, timezone), declared=declared
            )
            for r in batch
        ]
        # --assign-to, else the restaurant's sales rep (a member of the organisation), else
        # the acting user: for the instance and its tasks alike, as in the application
        assignees = [explicit or details[str(r["id"])][1] or acting for r in batch]
        messages = _Messages(compiled, subjects)
        if dry_run:
            _preview(
                conn,
                report,
                template,
                steps,
                messages,
                batch,
                names,
                values,
                now,
                assignees,
                scheduling,
            )
        else:
            started = _start_batch(
                conn,
                organisation.id,
                template,
                steps,
                messages,
                batch,
                names,
                values,
                now,
                assignees,
                acting,
                crm.has("tasks", "subject_line") and crm.has("tasks", "subject_line_rendered"),
                scheduling,
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
        by_restaurant = {o.restaurant_id: o for o in report.outcomes}
        for r in rows:
            by_restaurant[str(r["id"])].ref = refs[str(r["id"])]
    elif report.count(STARTED):
        tx(conn).execute(
            "UPDATE sequence_templates SET usage_count = usage_count + :n WHERE id = :id",
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
    tx(conn).execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))",
        {"key": f"seqctl.apply:{template.id}"},
    )
    row = tx(conn).first(
        "SELECT is_active FROM sequence_templates WHERE id = CAST(:id AS uuid)"
        " AND organisation_id = CAST(:org AS uuid) FOR NO KEY UPDATE",
        {"id": template.id, "org": organisation.id},
    )
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


@dataclass(frozen=True)
class _Messages:
    """Each step's message and (email steps) subject, compiled once for the whole run."""

    compiled: list[CompiledMessage | None]
    subjects: list[CompiledMessage | None]


def _template_metadata(conn: Connection, template_id: str) -> dict[str, Any]:
    found = tx(conn).scalar(
        "SELECT metadata FROM sequence_templates WHERE id = :id", {"id": template_id}
    )
    return dict(found) if isinstance(found, dict) else {}


def _restaurant_details(
    conn: Connection, org_id: str, ids: list[str], crm: CrmColumns
) -> tuple[dict[str, tuple[dict[str, Any], str | None]], list[str]]:
    """restaurant id -> (the catalogue's columns that exist, its sales rep if a member of
    the organisation), and those columns; one statement for all the restaurants."""
    available = crm.present("restaurants", RESTAURANT_COLUMNS)
    rep = "r.assigned_sales_rep" if crm.has("restaurants", "assigned_sales_rep") else "NULL"
    columns = "".join(f", r.{c}" for c in available)
    rows = tx(conn).mappings(
        f"SELECT r.id::text AS seqctl_id{columns}, (SELECT p.id::text FROM profiles p"
        f" WHERE p.id = {rep} AND p.organisation_id = CAST(:org AS uuid)) AS seqctl_rep"
        " FROM restaurants r WHERE r.id = ANY(CAST(:ids AS uuid[]))",
        {"ids": ids, "org": org_id},
    )
    details = {
        row["seqctl_id"]: ({c: row[c] for c in available}, row["seqctl_rep"]) for row in rows
    }
    return details, available


# The active or paused instance of the template, per restaurant: a restaurant that has one
# is skipped (already_active). Shared by apply and its dry run.
RUNNING_INSTANCES = (
    "SELECT DISTINCT ON (si.restaurant_id) si.restaurant_id, si.id FROM sequence_instances si"
    " WHERE si.sequence_template_id = CAST(:template_id AS uuid)"
    " AND si.restaurant_id = ANY(CAST(:restaurant_ids AS uuid[]))"
    " AND si.status IN ('active', 'paused') ORDER BY si.restaurant_id, si.started_at"
)

INSERT_INSTANCES = (
    "WITH wanted AS ("
    "  SELECT w.restaurant_id, w.name, w.assigned_to FROM unnest("
    "  CAST(:restaurant_ids AS uuid[]), CAST(:names AS text[]), CAST(:assignees AS uuid[]))"
    "  AS w(restaurant_id, name, assigned_to)"
    "), existing AS (" + RUNNING_INSTANCES + "), inserted AS ("
    "  INSERT INTO sequence_instances (sequence_template_id, restaurant_id, organisation_id, name,"
    "  status, current_step_order, total_steps, assigned_to, created_by, started_at, metadata)"
    "  SELECT CAST(:template_id AS uuid), w.restaurant_id, CAST(:org AS uuid), w.name, 'active',"
    "  1, :total, w.assigned_to, CAST(:acting AS uuid), CAST(:now AS timestamptz),"
    # the template version the instance starts from (spec §9)
    "  jsonb_build_object('seqctl', jsonb_build_object('template_version', ("
    "  SELECT " + template_version_sql("t") + " FROM sequence_templates t"
    "  WHERE t.id = CAST(:template_id AS uuid))))"
    "  FROM wanted w"
    "  WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.restaurant_id = w.restaurant_id)"
    "  RETURNING id, restaurant_id"
    ") SELECT 'started' AS result, restaurant_id, id FROM inserted"
    " UNION ALL SELECT 'already_active', restaurant_id, id FROM existing"
)


def insert_tasks(with_subject: bool, scheduled: bool = False) -> Any:
    """All the batch's tasks in one statement; the subject columns where the table has them.

    ``scheduled`` (§10): the first step's due date comes computed (``dues``) and each task
    records its step's schedule with the restaurant's zone (``zones``)."""
    subject_columns = " subject_line, subject_line_rendered," if with_subject else ""
    subject_values = (
        " s.subject, CASE WHEN s.type = 'email' THEN COALESCE(x.subject, s.subject) END,"
        if with_subject
        else ""
    )
    metadata = (  # the step's metadata, with its schedule and the zone where it has one
        "CASE WHEN s.schedule IS NULL THEN s.metadata ELSE jsonb_set(s.metadata,"
        " '{sequence,schedule}', s.schedule || jsonb_build_object('zone', x.zone)) END"
        if scheduled
        else "s.metadata"
    )
    return (
        "INSERT INTO tasks (organisation_id, restaurant_id, task_template_id, message_template_id,"
        " name, description, type, status, priority, message, message_rendered,"
        + subject_columns
        + " due_date, assigned_to, created_by, metadata, sequence_instance_id,"
        " sequence_step_order) "
        "SELECT CAST(:org AS uuid), x.restaurant_id, s.task_template_id, s.message_template_id,"
        " s.name, s.description, s.type, CASE WHEN s.position = 1 THEN 'active' ELSE 'pending'"
        " END, s.priority, s.message, COALESCE(x.rendered, s.message),"
        + subject_values
        + " CASE WHEN s.position = 1 THEN "
        + ("COALESCE(x.due, " if scheduled else "(")
        + "CAST(:now AS timestamptz) + "
        + delay_interval_sql("s.delay_value", "s.delay_unit")
        + ") END, x.assigned_to, CAST(:acting AS uuid), "
        + (
            "CASE WHEN s.position = 1 THEN "
            + with_activated_at(metadata, "CAST(:now AS timestamptz)")
            + f" ELSE {metadata} END"
        )
        + ", x.instance_id, s.position "
        "FROM unnest(CAST(:instance_ids AS uuid[]), CAST(:restaurant_ids AS uuid[]),"
        " CAST(:positions AS int[]), CAST(:rendered AS text[]), CAST(:subjects AS text[]),"
        " CAST(:assignees AS uuid[])"
        + (", CAST(:dues AS timestamptz[]), CAST(:zones AS text[])" if scheduled else "")
        + ") AS x(instance_id, restaurant_id, position, rendered, subject, assigned_to"
        + (", due, zone" if scheduled else "")
        + ") JOIN jsonb_to_recordset(CAST(:steps AS jsonb)) AS s(position int, name text,"
        " description text, type text, priority text, task_template_id uuid,"
        " message_template_id uuid, message text, subject text, delay_value int,"
        " delay_unit text, metadata jsonb" + (", schedule jsonb" if scheduled else "") + ")"
        " ON s.position = x.position"
    )


def _start_batch(
    conn: Connection,
    org_id: str,
    template: Template,
    steps: list[Step],
    messages: _Messages,
    batch: list[dict[str, Any]],
    names: list[str],
    values: list[dict[str, str]],
    now: datetime,
    assignees: list[str | None],
    acting: str | None,
    with_subject: bool,
    scheduling: ApplySchedule | None = None,
) -> dict[str, tuple[str, str]]:
    """Insert the batch's instances and tasks; restaurant id -> (result, instance id)."""
    params = {"template_id": template.id, "org": org_id, "now": now, "acting": acting}
    rows = tx(conn).rows(
        INSERT_INSTANCES,
        {
            **params,
            "restaurant_ids": [str(r["id"]) for r in batch],
            "names": names,
            "assignees": assignees,
            "total": len(steps),
        },
    )
    outcome = {str(r.restaurant_id): (r.result, str(r.id)) for r in rows}
    instance_ids: list[str] = []
    restaurant_ids: list[str] = []
    positions: list[int] = []
    rendered: list[str | None] = []
    subjects: list[str | None] = []
    task_assignees: list[str | None] = []
    dues: list[datetime | None] = []
    zones: list[str] = []
    for restaurant, vals, assignee in zip(batch, values, assignees, strict=True):
        result, instance_id = outcome[str(restaurant["id"])]
        if result != STARTED:
            continue
        for step, message, subject in zip(steps, messages.compiled, messages.subjects, strict=True):
            instance_ids.append(instance_id)
            restaurant_ids.append(str(restaurant["id"]))
            positions.append(step.position)
            rendered.append(message.render(vals) if message and message.variables else None)
            subjects.append(subject.render(vals) if subject and subject.variables else None)
            task_assignees.append(assignee)
            if scheduling is not None:
                rid = str(restaurant["id"])
                zones.append(scheduling.zone(rid))
                dues.append(
                    scheduling.first_due(rid, step.delay_value, step.delay_unit)
                    if step.position == 1
                    else None
                )
    if instance_ids:
        extra: dict[str, Any] = {"dues": dues, "zones": zones} if scheduling is not None else {}
        tx(conn).execute(
            insert_tasks(with_subject, scheduling is not None),
            {
                **params,
                "instance_ids": instance_ids,
                "restaurant_ids": restaurant_ids,
                "positions": positions,
                "rendered": rendered,
                "subjects": subjects,
                "assignees": task_assignees,
                "steps": steps_json(
                    template.id, steps, scheduling.records() if scheduling else None
                ),
                **extra,
            },
        )
    return outcome


def _preview(
    conn: Connection,
    report: ApplyReport,
    template: Template,
    steps: list[Step],
    messages: _Messages,
    batch: list[dict[str, Any]],
    names: list[str],
    values: list[dict[str, str]],
    now: datetime,
    assignees: list[str | None],
    scheduling: ApplySchedule | None = None,
) -> None:
    """What the batch would create, written to ``report`` (reads only)."""
    existing = {
        str(restaurant_id): str(instance_id)
        for restaurant_id, instance_id in tx(conn).execute(
            RUNNING_INSTANCES,
            {"template_id": template.id, "restaurant_ids": [str(r["id"]) for r in batch]},
        )
    }
    first = steps[0]
    due = tx(conn).scalar_one(
        "SELECT CAST(:now AS timestamptz) + "
        + delay_interval_sql("CAST(:v AS int)", "CAST(:u AS text)"),
        {"now": now, "v": first.delay_value, "u": first.delay_unit},
    )
    for restaurant, name, vals, assignee in zip(batch, names, values, assignees, strict=True):
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
                        (
                            (scheduling.first_due(rid, step.delay_value, step.delay_unit) or due)
                            if scheduling is not None
                            else due
                        )
                        if step.position == 1
                        else None,
                        step.delay_value,
                        step.delay_unit,
                        step.message,
                        message.render(vals) if message else None,
                        list(
                            dict.fromkeys(
                                [
                                    *(message.empty_variables(vals) if message else []),
                                    *(subject.empty_variables(vals) if subject else []),
                                ]
                            )
                        ),
                        step.subject,
                        subject.render(vals) if subject else None,
                        assignee,
                        scheduling.zone(rid)
                        if scheduling is not None and step.position in scheduling.template.steps
                        else None,
                    )
                    for step, message, subject in zip(
                        steps, messages.compiled, messages.subjects, strict=True
                    )
                ],
                assignee,
            )
        )

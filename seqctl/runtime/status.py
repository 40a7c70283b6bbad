"""Progress of instances (``seqctl status``): a filtered list, a summary, one instance in detail.

The list is found in two steps so that it stays fast on large organisations: first the
page of instance ids in next-due order (the active task's due date, found through
``idx_tasks_sequence_status``), then the per-step counts for that page only. A restaurant
filter goes through ``idx_sequence_instances_restaurant_status``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from psycopg import sql

from ..db.versions import template_version_sql
from ..errors import NotFound
from ..pg import Connection, named, tx
from .context import Context
from .lookup import require_uuids, resolve_template, resolve_user, restaurant_ids

_VERSION = sql.SQL(template_version_sql("st"))
STATUSES = ("active", "paused", "completed", "cancelled")
DEFAULT_LIMIT = 100
DEFAULT_OVERDUE_AFTER = timedelta(hours=1)  # spec §8: due first, overdue after the grace


@dataclass
class InstanceRow:
    id: str
    name: str
    restaurant_id: str
    restaurant: str
    template_id: str
    template: str | None
    status: str
    current_step: int | None
    total_steps: int
    completed_steps: int
    skipped_steps: int
    next_due: datetime | None
    overdue: bool
    assigned_to: str | None
    assigned_to_email: str | None
    started_at: datetime
    ended_at: datetime | None
    due: bool = False  # the active task's due date has come (overdue: and the grace passed)
    active_task_id: str | None = None
    instance_version: int | None = None  # recorded at apply (None: started before versions)
    template_version: int | None = None  # the template's current version (None: deleted)
    scheduled_in: str | None = None  # §10: the zone the active task was scheduled in

    @property
    def outdated(self) -> bool:
        """Running on an older version of its template (spec §9)."""
        return (
            self.status in ("active", "paused")
            and self.template_version is not None
            and (self.instance_version or 1) < self.template_version
        )

    @property
    def percentage(self) -> int:
        if self.status == "completed":
            return 100
        done = self.completed_steps + self.skipped_steps
        return min(100, round(100 * done / self.total_steps)) if self.total_steps else 0


@dataclass
class StatusReport:
    rows: list[InstanceRow]
    summary: dict[str, int]  # status -> instances (of the filtered set, not just the page)
    overdue: int
    now: datetime
    due: int = 0  # active instances whose task is due but not yet overdue

    @property
    def total(self) -> int:
        return sum(self.summary.values())


@dataclass
class StepLine:
    task_id: str
    order: int
    name: str
    type: str
    status: str
    due_date: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    message: str | None
    message_rendered: str | None
    schedule_zone: str | None = None  # §10: the zone the task was scheduled in


@dataclass
class InstanceDetail:
    instance: InstanceRow
    steps: list[StepLine] = field(default_factory=list)

    @property
    def active_task(self) -> StepLine | None:
        return next((s for s in self.steps if s.status == "active"), None)


# One pass over the filtered instances finds each one's next due date (the active task's,
# through idx_tasks_sequence_status; only active and paused instances have one); the page
# and the summary per status are both computed from that pass.
_PAGE_SQL = """
WITH base AS MATERIALIZED (
  SELECT si.id, si.status, si.started_at,
    CASE WHEN si.status IN ('active', 'paused') THEN (
      SELECT min(t.due_date) FROM tasks t
      WHERE t.sequence_instance_id = si.id AND t.status = 'active'
    ) END AS next_due
  FROM sequence_instances si WHERE {where}
), page AS (
  SELECT id, next_due FROM base
  ORDER BY next_due ASC NULLS LAST, started_at DESC, id {limit}
), summary AS (
  SELECT json_object_agg(status, json_build_array(n, overdue, due)) AS counts FROM (
    SELECT status, count(*) AS n,
      count(*) FILTER (WHERE status = 'active'
        AND next_due + CAST(:grace AS interval) <= CAST(:now AS timestamptz)) AS overdue,
      count(*) FILTER (WHERE status = 'active' AND next_due <= CAST(:now AS timestamptz)
        AND next_due + CAST(:grace AS interval) > CAST(:now AS timestamptz)) AS due
    FROM base GROUP BY status
  ) g
)
SELECT si.id::text AS id, si.name, si.restaurant_id::text AS restaurant_id,
  r.name AS restaurant, si.sequence_template_id::text AS template_id, st.name AS template,
  si.status, si.current_step_order AS current_step, si.total_steps,
  c.completed_steps, c.skipped_steps, page.next_due,
  (si.status = 'active' AND page.next_due + CAST(:grace AS interval)
    <= CAST(:now AS timestamptz)) AS overdue,
  (si.status = 'active' AND page.next_due <= CAST(:now AS timestamptz)) AS due,
  (SELECT t.id::text FROM tasks t WHERE t.sequence_instance_id = si.id
    AND t.status = 'active' ORDER BY t.sequence_step_order LIMIT 1) AS active_task_id,
  (SELECT t.metadata -> 'sequence' -> 'schedule' ->> 'zone' FROM tasks t
    WHERE t.sequence_instance_id = si.id AND t.status = 'active'
    ORDER BY t.sequence_step_order LIMIT 1) AS scheduled_in,
  si.assigned_to::text AS assigned_to, u.email AS assigned_to_email, si.started_at,
  COALESCE(si.completed_at, si.cancelled_at) AS ended_at,
  CASE WHEN jsonb_typeof(si.metadata -> 'seqctl' -> 'template_version') = 'number'
    THEN (si.metadata -> 'seqctl' ->> 'template_version')::int END AS instance_version,
  CASE WHEN st.id IS NOT NULL THEN {template_version} END AS template_version,
  (SELECT counts FROM summary) AS summary
FROM page
JOIN sequence_instances si ON si.id = page.id
JOIN restaurants r ON r.id = si.restaurant_id
LEFT JOIN sequence_templates st ON st.id = si.sequence_template_id
LEFT JOIN profiles u ON u.id = si.assigned_to  -- readable under RLS, unlike auth.users
LEFT JOIN LATERAL (
  SELECT count(*) FILTER (WHERE t.status = 'completed') AS completed_steps,
    count(*) FILTER (WHERE t.status = 'cancelled'
      AND t.metadata -> 'sequence' ->> 'closed_by' IS NULL) AS skipped_steps
  FROM tasks t WHERE t.sequence_instance_id = si.id
) c ON true
ORDER BY page.next_due ASC NULLS LAST, si.started_at DESC, si.id
"""
# {where}, {limit} and {template_version} are filled in with psycopg.sql (never str.format)
_PAGE = sql.SQL(named(_PAGE_SQL))


def _condition(text: str) -> sql.Composable:
    """A fixed piece of SQL with ``:name`` parameters."""
    return sql.SQL(named(text))


def _jit_off(conn: Connection) -> None:
    """Status only reads: no JIT (its compile time, not the query, dominated on large orgs)."""
    tx(conn).execute("SELECT set_config('jit', 'off', true)")


def list_instances(
    context: Context,
    *,
    restaurant: str | None = None,
    template: str | None = None,
    status: Sequence[str] = (),
    assigned_to: str | None = None,
    limit: int | None = DEFAULT_LIMIT,
    overdue_after: timedelta = DEFAULT_OVERDUE_AFTER,
) -> StatusReport:
    """The organisation's instances, filtered, in next-due order (at most ``limit``)."""
    conn, org_id = context.conn, context.org_id
    now = context.begin_clock()
    where = [_condition("si.organisation_id = CAST(:org AS uuid)")]
    params: dict[str, Any] = {"org": org_id, "now": now, "grace": overdue_after}
    if restaurant is not None:
        where.append(_condition("si.restaurant_id = ANY(CAST(:restaurants AS uuid[]))"))
        params["restaurants"] = restaurant_ids(conn, org_id, restaurant)
    if template is not None:
        where.append(_condition("si.sequence_template_id = CAST(:template AS uuid)"))
        params["template"] = resolve_template(conn, org_id, template).id
    if status:
        where.append(_condition("si.status = ANY(CAST(:statuses AS text[]))"))
        params["statuses"] = list(status)
    if assigned_to is not None:
        where.append(_condition("si.assigned_to = CAST(:assigned AS uuid)"))
        params["assigned"] = resolve_user(conn, assigned_to, org_id=org_id)
    page = _PAGE.format(
        where=sql.SQL(" AND ").join(where),
        limit=_condition("LIMIT :limit") if limit else sql.SQL(""),
        template_version=_VERSION,
    )
    if limit:
        params["limit"] = limit
    _jit_off(conn)
    found = tx(conn).mappings(page, params)
    counts: dict[str, list[int]] = found[0]["summary"] if found else {}
    summary = {s: counts.get(s, [0, 0])[0] for s in STATUSES}
    overdue = sum(c[1] for c in counts.values())
    due = sum(c[2] for c in counts.values())
    rows = [InstanceRow(**{k: v for k, v in r.items() if k != "summary"}) for r in found]
    return StatusReport(rows, summary, overdue, now, due)


def instance_detail(
    context: Context,
    instance_id: str,
    *,
    overdue_after: timedelta = DEFAULT_OVERDUE_AFTER,
) -> InstanceDetail:
    """One instance with its step timeline (tasks in step order)."""
    conn, org_id = context.conn, context.org_id
    (iid,) = require_uuids([instance_id], "instance", conn=conn, org_id=org_id)
    now = context.begin_clock()
    page = _PAGE.format(
        where=_condition("si.organisation_id = CAST(:org AS uuid) AND si.id = CAST(:id AS uuid)"),
        limit=sql.SQL(""),
        template_version=_VERSION,
    )
    _jit_off(conn)
    found = next(
        iter(
            tx(conn).mappings(page, {"org": org_id, "id": iid, "now": now, "grace": overdue_after})
        ),
        None,
    )
    if found is None:
        raise NotFound(
            f"no instance {iid} in the organisation",
            hint="instances are given by UUID; `seqctl status` lists them",
        )
    steps = [
        StepLine(**dict(r))
        for r in tx(conn).mappings(
            'SELECT t.id::text AS task_id, t.sequence_step_order AS "order", t.name, t.type,'
            " t.status, t.due_date, t.completed_at, t.cancelled_at, t.message,"
            " t.message_rendered, t.metadata -> 'sequence' -> 'schedule' ->> 'zone'"
            " AS schedule_zone"
            " FROM tasks t WHERE t.sequence_instance_id = CAST(:id AS uuid)"
            " ORDER BY t.sequence_step_order, t.created_at, t.id",
            {"id": iid},
        )
    ]
    return InstanceDetail(InstanceRow(**{k: v for k, v in found.items() if k != "summary"}), steps)

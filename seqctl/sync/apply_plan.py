"""Sync: make an organisation's rows match the files, in one transaction, under a lock.

    with db.begin() as conn:
        plan = sync(conn, templates, organisation, SyncOptions(prune=True))

The caller owns the transaction: every function here runs inside it, and any error (a
refusal, a stale plan, a database error) propagates so that the transaction rolls back and
the database is exactly as before. Writes are set-based: at most one statement per table
per operation, whatever the number of templates or steps.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from ..config import DEFAULT_LOCK_TIMEOUT
from ..errors import Conflict, DatabaseError, LockTimeout, Refused
from ..pg import Connection, tx
from ..templates.spec import Organisation, TemplateSpec
from .actual import STEP_FIELDS, TEMPLATE_FIELDS, instances_of, read_state
from .diff import build_plan
from .plan import Plan, PlanOptions, StepChange, StepRow, TemplateChange, TemplateRow
from .scope import Scope

OFFSET = 1_000_000  # moved steps pass through step_order + OFFSET (UNIQUE, CHECK > 0)
LOCK_NAMESPACE = "seqctl:sync:"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

Confirm = Callable[[Plan], bool]


@dataclass(frozen=True)
class SyncOptions(PlanOptions):
    lock_timeout: float = (
        DEFAULT_LOCK_TIMEOUT  # seconds; 0 = fail at once if another sync holds the lock
    )
    acting_user: str | None = None  # auth.users id recorded as created_by of new templates


def lock_key(organisation_id: str) -> int:
    """The advisory lock key of an organisation: 64 bits of a hash of its id."""
    digest = hashlib.sha256((LOCK_NAMESPACE + organisation_id).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def acquire_lock(conn: Connection, organisation: Organisation, timeout: float) -> None:
    """Take the organisation's transaction-scoped advisory lock, waiting up to ``timeout`` s.

    Transaction-scoped so that it also works through a transaction-mode pooler; released
    by the commit or rollback of the caller's transaction.
    """
    key = lock_key(organisation.id)
    busy = LockTimeout(
        f"another sync of organisation {organisation.name!r} is running "
        f"(waited {timeout:g} s for its lock)",
        hint="wait for it to finish and run this again, or raise --lock-timeout",
    )
    if timeout <= 0:
        if not tx(conn).scalar("SELECT pg_try_advisory_xact_lock(:k)", {"k": key}):
            raise busy
        return
    tx(conn).execute(
        "SELECT set_config('lock_timeout', :t, true)",
        {"t": f"{max(1, round(timeout * 1000))}ms"},
    )
    try:
        tx(conn).execute("SELECT pg_advisory_xact_lock(:k)", {"k": key})
    except psycopg.errors.LockNotAvailable:
        raise busy from None


def make_plan(
    conn: Connection,
    templates: Sequence[TemplateSpec],
    organisation: Organisation,
    options: PlanOptions | None = None,
    scope: Scope | None = None,
) -> Plan:
    """The plan of a sync of ``templates`` (read-only; no lock), limited to ``scope`` (the
    PATHs they came from: see seqctl.sync.scope; None = every managed template)."""
    plan = build_plan(templates, read_state(conn, organisation), options, scope)
    if plan.blocked:
        raise _prune_refused(conn, plan.blocked)
    return plan


def _prune_refused(conn: Connection, blocked: Sequence[TemplateChange]) -> Refused:
    """The refusal of a prune of templates that have instances, naming them."""
    ids = [str(c.template_id) for c in blocked]
    found = instances_of(conn, ids)
    counts = {
        str(template_id): n
        for template_id, n in tx(conn).rows(
            """
            SELECT sequence_template_id, count(*) FROM sequence_instances
            WHERE sequence_template_id = ANY(CAST(:ids AS uuid[]))
            GROUP BY sequence_template_id
            """,
            {"ids": ids},
        )
    }
    lines = []
    for c in blocked:
        named = found.get(str(c.template_id), [])
        n = counts.get(str(c.template_id), len(named))
        more = f"; … and {n - len(named)} more" if n > len(named) else ""
        lines.append(
            f"  {c.key} ({c.name!r}, {c.template_id}): {n} instance(s): " + "; ".join(named) + more
        )
    return Refused(
        f"--prune cannot delete {len(blocked)} template(s) whose files were removed: "
        "they have instances\n" + "\n".join(lines),
        hint="deleting a template deletes its instances; cancel or delete those instances "
        "first, or sync without --prune to deactivate the templates instead",
    )


def sync(
    conn: Connection,
    templates: Sequence[TemplateSpec],
    organisation: Organisation,
    options: SyncOptions | None = None,
    *,
    confirm: Confirm | None = None,
    dry_run: bool = False,
    scope: Scope | None = None,
    after_apply: Callable[[Plan], None] | None = None,
) -> Plan:
    """Plan and apply under the organisation's lock; return the plan that was applied.

    Only managed templates in ``scope`` (see seqctl.sync.scope) are created, updated,
    deactivated or pruned; None puts every managed template of the organisation in scope.

    ``confirm`` is asked before a plan that deletes templates is applied; declining raises
    Refused. With ``dry_run`` the plan is made under the lock and nothing is written.
    """
    options = options or SyncOptions()
    acquire_lock(conn, organisation, options.lock_timeout)
    plan_options = PlanOptions(options.prune, options.adopt, options.allow_empty)
    plan = make_plan(conn, templates, organisation, plan_options, scope)
    if not dry_run:
        _confirm_deletes(plan, confirm)
        apply_plan(conn, plan, acting_user=options.acting_user)
        if after_apply is not None:  # e.g. running_instances: migrate (same transaction)
            after_apply(plan)
    return plan


def sync_saved_plan(
    conn: Connection,
    plan: Plan,
    *,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    confirm: Confirm | None = None,
    acting_user: str | None = None,
    after_apply: Callable[[Plan], None] | None = None,
) -> Plan:
    """Apply exactly ``plan`` (from ``seqctl plan --out``), if the rows have not changed since."""
    acquire_lock(conn, plan.organisation, lock_timeout)
    if read_state(conn, plan.organisation).fingerprint() != plan.fingerprint:
        raise Conflict(
            f"stale plan: the templates of organisation {plan.organisation.name!r} changed "
            "since the plan was made (by a sync, or in the web app)",
            hint="make a new plan with `seqctl plan --out FILE`, review it and apply that",
        )
    _confirm_deletes(plan, confirm)
    apply_plan(conn, plan, acting_user=acting_user)
    if after_apply is not None:
        after_apply(plan)
    return plan


def _confirm_deletes(plan: Plan, confirm: Confirm | None) -> None:
    if confirm is not None and plan.counts()["delete"] and not confirm(plan):
        raise Refused("sync cancelled: nothing was changed")


# -- applying --------------------------------------------------------------------------

# The templates a sync deletes or deactivates, locked before it writes (spec §7): it waits
# for an apply that holds the row (FOR NO KEY UPDATE, see instances._lock_template) or has
# inserted instances of it (their foreign keys hold FOR KEY SHARE), and no instance can be
# added until this transaction ends. READ COMMITTED: statements after this one see what
# such an apply committed.
LOCK_TEMPLATES = """
SELECT t.id FROM sequence_templates AS t
WHERE t.id = ANY(CAST(:ids AS uuid[])) AND t.organisation_id = CAST(:org AS uuid)
ORDER BY t.id
FOR UPDATE
"""
DELETE_TEMPLATES = """
DELETE FROM sequence_templates AS t
WHERE t.id = ANY(CAST(:ids AS uuid[])) AND t.organisation_id = CAST(:org AS uuid)
  AND NOT EXISTS (SELECT 1 FROM sequence_instances AS i WHERE i.sequence_template_id = t.id)
RETURNING t.id
"""
# a step's columns (but its id and template's): STEP_FIELDS and its position
STEP_COLUMNS = ("step_order", *STEP_FIELDS)
# every step statement is confined to the organisation's templates (a saved plan is a file)
IN_ORGANISATION = (
    "sequence_template_id IN (SELECT id FROM sequence_templates "
    "WHERE organisation_id = CAST(:org AS uuid))"
)
DELETE_STEPS = (
    f"DELETE FROM sequence_steps WHERE id = ANY(CAST(:ids AS uuid[])) AND {IN_ORGANISATION}"
)
SETTLE_MOVED_STEPS = (
    f"UPDATE sequence_steps SET step_order = step_order - {OFFSET} "
    f"WHERE id = ANY(CAST(:ids AS uuid[])) AND {IN_ORGANISATION}"
)


@dataclass(frozen=True)
class RecordStatements:
    """The writes that read their rows from one JSON document (``jsonb_to_recordset``)."""

    template_record: str  # d(id uuid, name text, …): the columns and their types
    step_record: str
    insert_templates: str
    update_templates: str
    update_steps: str
    insert_steps: str


@functools.cache
def record_statements() -> RecordStatements:
    """Built on the first write: the records' column types come from the table definitions
    (``seqctl.db.tables``, SQLAlchemy), which a sync that changes nothing never loads."""
    from ..db import tables

    template_record = f"d(id uuid, {tables.typed(tables.sequence_templates, TEMPLATE_FIELDS)})"
    step_record = (
        "d(id uuid, template_id uuid, moved boolean, "
        f"{tables.typed(tables.sequence_steps, STEP_COLUMNS)})"
    )
    return RecordStatements(
        template_record=template_record,
        step_record=step_record,
        insert_templates=f"""
INSERT INTO sequence_templates
  (id, organisation_id, created_by, name, description, tags, is_active, metadata)
SELECT d.id, CAST(:org AS uuid), CAST(:created_by AS uuid), d.name, d.description,
       COALESCE(d.tags, ARRAY[]::text[]), d.is_active, d.metadata
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS {template_record}
""",
        update_templates=f"""
UPDATE sequence_templates AS t
SET name = d.name, description = d.description, tags = COALESCE(d.tags, ARRAY[]::text[]),
    is_active = d.is_active, metadata = d.metadata
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS {template_record}
WHERE t.id = d.id AND t.organisation_id = CAST(:org AS uuid)
  AND (t.name, t.description, t.tags, t.is_active, t.metadata)
      IS DISTINCT FROM (d.name, d.description, COALESCE(d.tags, ARRAY[]::text[]), d.is_active,
                        d.metadata)
""",
        update_steps=f"""
UPDATE sequence_steps AS s
SET step_order = d.step_order + CASE WHEN d.moved THEN {OFFSET} ELSE 0 END,
    {", ".join(f"{c} = d.{c}" for c in STEP_FIELDS)}
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS {step_record}
WHERE s.id = d.id AND s.sequence_template_id = d.template_id AND s.{IN_ORGANISATION}
""",
        insert_steps=f"""
INSERT INTO sequence_steps (id, sequence_template_id, {", ".join(STEP_COLUMNS)})
SELECT d.id, d.template_id, {", ".join("d." + c for c in STEP_COLUMNS)}
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS {step_record}
WHERE d.template_id IN (SELECT id FROM sequence_templates
                        WHERE organisation_id = CAST(:org AS uuid))
""",
    )


class TemplateRecord(TemplateRow):
    """A template row with its id: one element of ``:rows`` (TEMPLATE_RECORD)."""

    id: str


class StepRecord(StepRow):
    """A step row with its ids: one element of ``:rows`` (STEP_RECORD)."""

    id: str
    template_id: str
    moved: bool


@dataclass
class _Writes:
    template_deletes: list[str]
    template_inserts: list[TemplateRecord]
    template_updates: list[TemplateRecord]
    step_deletes: list[str]
    step_updates: list[StepRecord]
    step_moves: list[str]
    step_inserts: list[StepRecord]
    where: dict[str, tuple[TemplateChange, StepChange | None]]


def _collect(plan: Plan) -> _Writes:
    writes = _Writes([], [], [], [], [], [], [], {})
    for change in plan.changes:
        if change.kind == "delete":
            writes.template_deletes.append(str(change.template_id))
            continue
        template_id = change.template_id or str(uuid.uuid4())
        writes.where[template_id] = (change, None)
        if change.row is None:  # the plan schema requires one: a plan edited by hand
            raise _no_row(change.key)
        record: TemplateRecord = {**change.row, "id": template_id}
        (writes.template_inserts if change.kind == "create" else writes.template_updates).append(
            record
        )
        for step in change.steps:
            if step.kind == "delete":
                writes.step_deletes.append(str(step.step_id))
                continue
            step_id = step.step_id or str(uuid.uuid4())
            writes.where[step_id] = (change, step)
            moved = step.old_step_order is not None and step.old_step_order != step.step_order
            if step.row is None:
                raise _no_row(f"{change.key}, step {step.step_order}")
            row: StepRecord = {
                **step.row,
                "id": step_id,
                "template_id": template_id,
                "moved": moved,
                "step_order": step.step_order,
            }
            if step.kind == "create":
                writes.step_inserts.append(row)
            else:
                writes.step_updates.append(row)
                if moved:
                    writes.step_moves.append(step_id)
    return writes


def _no_row(what: str) -> Conflict:
    return Conflict(
        f"the plan has no row to write for {what}", hint="make a new plan with `seqctl plan`"
    )


def apply_plan(conn: Connection, plan: Plan, *, acting_user: str | None = None) -> None:
    """Write ``plan``: at most 7 statements, whatever its size (the caller holds the lock)."""
    writes = _collect(plan)
    org = plan.organisation.id
    _lock_removed_templates(conn, plan)
    current = tx(conn)
    try:
        if writes.template_deletes:
            deleted = set(
                map(
                    str,
                    current.scalars(DELETE_TEMPLATES, {"ids": writes.template_deletes, "org": org}),
                )
            )
            missing = [
                c for c in plan.changes if c.kind == "delete" and c.template_id not in deleted
            ]
            if missing:
                raise Conflict(
                    "cannot delete "
                    + ", ".join(f"{c.key} ({c.template_id})" for c in missing)
                    + ": it has instances now, or is gone",
                    hint="make a new plan and review it",
                )
        if not (
            writes.template_inserts
            or writes.template_updates
            or writes.step_updates
            or writes.step_inserts
            or writes.step_deletes
            or writes.step_moves
        ):
            return
        records = record_statements()
        if writes.template_inserts:
            current.execute(
                records.insert_templates,
                {"rows": _json(writes.template_inserts), "org": org, "created_by": acting_user},
            )
        if writes.template_updates:
            current.execute(
                records.update_templates, {"rows": _json(writes.template_updates), "org": org}
            )
        for statement, values, param in (
            (DELETE_STEPS, writes.step_deletes, "ids"),
            (records.update_steps, writes.step_updates, "rows"),
            (SETTLE_MOVED_STEPS, writes.step_moves, "ids"),
            (records.insert_steps, writes.step_inserts, "rows"),
        ):
            if not values:
                continue
            done = current.execute(
                statement, {param: _json(values) if param == "rows" else values, "org": org}
            ).rowcount
            if done != len(values):
                raise Conflict(
                    f"the plan does not match the organisation's steps ({done} of "
                    f"{len(values)} rows written)",
                    hint="make a new plan",
                )
    except psycopg.Error as error:
        raise _rejected(error, writes.where) from None


def _lock_removed_templates(conn: Connection, plan: Plan) -> None:
    """Lock the templates the plan deletes or deactivates, then look for instances again.

    The plan was made from what was committed before any wait: an apply that committed
    instances while this sync waited for the rows is seen only now, and its instances are
    never deleted with their template (the prune is refused, naming them).
    """
    removed = [c for c in plan.changes if c.kind in ("delete", "deactivate")]
    if not removed:
        return
    try:
        tx(conn).execute(
            LOCK_TEMPLATES,
            {"ids": [str(c.template_id) for c in removed], "org": plan.organisation.id},
        )
    except psycopg.errors.LockNotAvailable:
        raise LockTimeout(
            "templates to "
            + ", ".join(f"{c.kind} {c.key}" for c in removed)
            + " are in use (an apply is starting instances of them); gave up waiting",
            hint="wait for the apply to finish and run this again, or raise --lock-timeout",
        ) from None
    deletes = [c for c in removed if c.kind == "delete"]
    if deletes:
        found = instances_of(conn, [str(c.template_id) for c in deletes])
        blocked = [c for c in deletes if str(c.template_id) in found]
        if blocked:
            raise _prune_refused(conn, blocked)


def _json(rows: Sequence[Any]) -> str:
    return json.dumps(rows, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _rejected(
    error: psycopg.Error, where: dict[str, tuple[TemplateChange, StepChange | None]]
) -> DatabaseError:
    """A database error of the writes, pointing at the file and field it came from if it can."""
    diag = error.diag
    primary = (diag.message_primary or str(error)).strip().splitlines()[0]
    detail = getattr(diag, "message_detail", None) or ""
    constraint = getattr(diag, "constraint_name", None) or ""
    table = getattr(diag, "table_name", None) or ""
    sqlstate = error.sqlstate
    found = next((where[u] for u in UUID_RE.findall(detail) if u in where), None)
    message = f"the database rejected the sync: {primary}"
    if found is not None:
        change, step = found
        location = step.location if step and step.location else change.location
        path = f"$.steps[{step.step_order - 1}]" if step else "$"
        column = _column(constraint, table)
        if column:
            path += f".{column}"
        message = f"{location or change.source}: template {change.key!r} ({path}): {primary}"
    if sqlstate:
        message += f" [SQLSTATE {sqlstate}]"
    return DatabaseError(message, hint="nothing was changed; fix the file and sync again")


def _column(constraint: str, table: str) -> str | None:
    """The file field of a column's CHECK or foreign key (``sequence_steps_name_check``)."""
    name = constraint.removeprefix(f"{table}_")
    for suffix in ("_check", "_fkey"):
        if name.endswith(suffix) and name != constraint:
            column = name.removesuffix(suffix)
            return (
                None
                if column == "step_order"
                else column.removesuffix("_id")
                if column.endswith("template_id")
                else column
            )
    return None

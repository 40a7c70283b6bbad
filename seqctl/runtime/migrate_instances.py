"""Moving running instances to their template's current steps (spec §9, `seqctl migrate`).

    with db.begin() as conn:
        migration = plan_migration(conn, organisation, "onboarding")   # locks, reads, diffs
        print(migration.counts())                                      # the preview
        apply_migration(conn, migration)                               # writes, set-based

The public face of the migration, made of modules named by what they do:

- ``migrate_model``: the preview's vocabulary (outcomes, field changes, due changes) and
  the plan shared by the instances in one state (``Shape``);
- ``migrate_read``: locking the template and the instances, reading a summary of their
  tasks (and the full tasks of one instance per state);
- ``migrate_match``: matching tasks to the current steps, comparing them field by field;
- ``migrate_shape``: the per-instance preview and plan, worked out once per state;
- ``migrate_dates``: due dates that start now or are rescheduled, through schedules (§10);
- ``migrate_render``: messages and subjects, rendered once per (step, restaurant);
- ``migrate_plan``: ``plan_migration``, putting those together;
- ``migrate_write``: ``apply_migration``, at most four statements whatever the number of
  instances;
- ``migrate_sync``: ``running_instances: migrate`` in ``plan`` and ``sync``.

Serialisation: the caller's transaction holds the template row ``FOR SHARE`` and the
instance rows ``FOR UPDATE`` in id order, as ``task complete`` and ``advance`` lock them;
so a step is never activated twice and an instance never has two active tasks. Each task
write is guarded by the status it was read with: a task the web app finished meanwhile
makes the migration fail (Conflict) and roll back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..config import DEFAULT_TIMEZONE
from ..pg import Connection
from ..templates.spec import FieldChange
from .lookup import Organisation, resolve_user
from .migrate_dates import add_delay, sub_delay
from .migrate_model import (
    ADDED,
    CHANGED,
    COMPARED,
    DONE,
    HISTORY,
    KEPT,
    PASSED,
    REMOVED,
    RUNNING,
    DueChange,
    InstanceMigration,
    Migration,
    MigrationResult,
    StepOutcome,
)
from .migrate_plan import plan_migration
from .migrate_sync import Planned, migrate_after_sync, planned_steps, preview_sync_migration
from .migrate_write import apply_migration

__all__ = [
    "ADDED",
    "CHANGED",
    "COMPARED",
    "DONE",
    "HISTORY",
    "KEPT",
    "PASSED",
    "REMOVED",
    "RUNNING",
    "DueChange",
    "FieldChange",
    "InstanceMigration",
    "Migration",
    "MigrationResult",
    "Planned",
    "StepOutcome",
    "add_delay",
    "apply_migration",
    "migrate_after_sync",
    "migrate_instances",
    "plan_migration",
    "planned_steps",
    "preview_sync_migration",
    "sub_delay",
]


def migrate_instances(
    conn: Connection,
    organisation: Organisation,
    template_ref: str,
    *,
    restaurants: Sequence[str] = (),
    instances: Sequence[str] = (),
    reschedule: bool = False,
    timezone: str = DEFAULT_TIMEZONE,
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
    acting_user_id = resolve_user(conn, acting_user) if acting_user else None
    apply_migration(conn, migration, acting_user_id=acting_user_id)
    return migration

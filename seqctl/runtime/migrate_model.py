"""What a migration is (spec §9): the preview's vocabulary and the plan it is made of.

Instances of a template that are in the same state (same instance status; same tasks in
the same order with the same step ids, statuses and contents) migrate alike, so their plan
is worked out once, as a ``Shape``: the outcome of every step, which of the instance's
tasks are written (by their index in the instance's ordered tasks) and which steps get new
tasks. An ``InstanceMigration`` is one instance with its shape and its own task ids; its
preview lines (``steps``) are made from the shape when asked for. A ``Migration`` is all
the template's instances, as ``plan_migration`` found them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ..templates.spec import FieldChange
from .lookup import Organisation, Template
from .steps import TASK_COLUMNS, Step

RUNNING = ("active", "paused")
HISTORY = ("completed", "cancelled")

# Outcomes of a step (or of a task whose step is gone) in the preview
DONE = "done"  # the instance ran it already (history): untouched
KEPT = "kept"  # same content (perhaps at a new position)
CHANGED = "changed"  # content changed: the task is updated field by field
ADDED = "added"  # a new step after the position: a new pending task
REMOVED = "removed"  # the step is gone: its pending or active task is cancelled
PASSED = "passed"  # a step before the position the instance never ran: not added

# the fields of a task compared with its step ("schedule": the schedule it records, §10)
COMPARED = (*TASK_COLUMNS, "delay", "schedule")


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


@dataclass(frozen=True)
class TaskWrite:
    """A task every instance of a shape writes, named by its index in the instance's tasks."""

    index: int
    expected: str  # the status it was read with (the write checks it)
    status: str  # its status afterwards
    step: Step | None  # the step it follows afterwards (None: it is cancelled)
    rewrite: bool = False  # takes the step's fields and re-rendered texts
    reason: str | None = None  # cancelled: step_removed | moved_before_position
    activates: bool = False  # becomes the active task now (due now + its delay)
    reschedule: bool = False  # the active task, due again at activation + its new delay
    reschedule_only: bool = False  # written only when its due date actually changes


@dataclass(frozen=True)
class TaskInsert:
    """A new task every instance of a shape gets for ``step``."""

    step: Step
    activates: bool = False


@dataclass
class Shape:
    """The plan shared by every instance in one state (see the module's docstring)."""

    number: int
    matched_by: str  # "step_id", or "order_and_name" when tasks had no recorded step ids
    outcomes: list[StepOutcome] = field(default_factory=list)  # task_id left None
    indices: list[int | None] = field(default_factory=list)  # each outcome's task index
    writes: list[TaskWrite] = field(default_factory=list)
    inserts: list[TaskInsert] = field(default_factory=list)
    active_index: int | None = None  # the active task's index
    active_before: str | None = None
    active_after: str | None = None
    active_after_order: int | None = None
    starts_now: bool = False
    completes: bool = False
    current_step_order: int | None = None  # None: the instance keeps its own
    rescheduled: Step | None = None  # --reschedule: the active task's step
    old_delay: tuple[int, str] | None = None  # the active task's recorded delay

    def count(self, outcome: str) -> int:
        return sum(1 for s in self.outcomes if s.outcome == outcome)

    @property
    def cancelled(self) -> int:
        return sum(
            1
            for s, i in zip(self.outcomes, self.indices, strict=True)
            if i is not None and s.outcome in (REMOVED, PASSED)
            and s.task_status in ("pending", "active")
        )  # fmt: skip

    @property
    def changes_steps(self) -> bool:
        return any(s.outcome in (CHANGED, ADDED, REMOVED) for s in self.outcomes)


@dataclass
class InstanceMigration:
    """What the migration does to one running instance."""

    instance_id: str
    name: str
    restaurant: str
    restaurant_id: str
    status: str
    from_version: int | None
    to_version: int
    shape: Shape
    task_ids: tuple[str, ...]  # the instance's tasks, in order
    due_changes: list[DueChange] = field(default_factory=list)
    assignee: str | None = None  # of the tasks it gets
    zone: str | None = None  # §10: where its scheduled tasks are scheduled
    activate_due: datetime | None = None  # the due date of the step that starts now
    reschedule_due: datetime | None = None  # --reschedule: the active task's (if it changes)

    @property
    def matched_by(self) -> str:
        return self.shape.matched_by

    @property
    def steps(self) -> list[StepOutcome]:
        ids = self.task_ids
        return [
            s if i is None else replace(s, task_id=ids[i])
            for s, i in zip(self.shape.outcomes, self.shape.indices, strict=True)
        ]

    @property
    def active_before(self) -> str | None:
        return self.shape.active_before

    @property
    def active_after(self) -> str | None:
        return self.shape.active_after

    @property
    def active_after_order(self) -> int | None:
        return self.shape.active_after_order

    @property
    def starts_now(self) -> bool:
        return self.shape.starts_now

    @property
    def completes(self) -> bool:
        return self.shape.completes

    def count(self, outcome: str) -> int:
        return self.shape.count(outcome)

    @property
    def changes_tasks(self) -> bool:
        return self.shape.changes_steps or bool(self.due_changes)


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
    state: str = ""  # digest of the instances and tasks it was made from
    # §10: position -> the schedule the step's tasks record (without the zone); None: none
    records: dict[int, Any] = field(default_factory=dict)
    renderer: Any = None  # the migrate_render.Renderer its writes render texts with

    def counts(self) -> dict[str, int]:
        """Instances touched and tasks added, changed and cancelled (for plan and preview)."""
        sizes: dict[int, int] = {}
        shapes: dict[int, Shape] = {}
        for i in self.instances:
            sizes[i.shape.number] = sizes.get(i.shape.number, 0) + 1
            shapes[i.shape.number] = i.shape
        return {
            "instances": len(self.instances),
            "instances_changed": sum(1 for i in self.instances if i.changes_tasks),
            "tasks_added": sum(s.count(ADDED) * sizes[n] for n, s in shapes.items()),
            "tasks_changed": sum(s.count(CHANGED) * sizes[n] for n, s in shapes.items()),
            "tasks_cancelled": sum(s.cancelled * sizes[n] for n, s in shapes.items()),
            "matched_by_order_and_name": sum(
                1 for i in self.instances if i.matched_by != "step_id"
            ),
        }


@dataclass(frozen=True)
class MigrationResult:
    instances: int
    tasks_updated: int
    tasks_inserted: int

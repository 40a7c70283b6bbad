"""The per-instance preview and plan (spec §9), worked out once per instance state.

``plan_shape`` takes the tasks of one instance (the representative of every instance in
the same state) and the template's current steps, and decides the outcome of each step
and which tasks are written or added:

- history (completed and cancelled tasks) is never written (``done``);
- the instance's *position* is its active step, else its last finished one; when that
  step is gone, the nearest earlier one that is still there;
- steps up to the position that the instance never ran are ``passed`` (not added; a
  pending task of a step moved there is cancelled);
- after the position, pending tasks follow the steps (``kept``/``changed``, at their new
  position), steps without a task are ``added``, tasks whose step is gone are cancelled
  (``removed``);
- an active task whose step was removed is cancelled and, on an active instance, the next
  step starts now (with nothing after it the instance completes);
- with ``reschedule``, the active task is due again at its activation + the new delay.

Per-instance values (task ids, due dates, rendered messages) are filled in later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .migrate_match import Task, match_tasks, task_fields
from .migrate_model import (
    ADDED,
    CHANGED,
    DONE,
    HISTORY,
    KEPT,
    PASSED,
    REMOVED,
    Shape,
    StepOutcome,
    TaskInsert,
    TaskWrite,
)
from .steps import Step


def plan_shape(
    number: int,
    status: str,
    tasks: list[Task],
    steps: list[Step],
    *,
    reschedule: bool,
    records: Mapping[int, Mapping[str, Any] | None],
) -> Shape:
    """The plan of an instance with ``status`` and ``tasks`` (in order). ``records``:
    position -> the schedule the step's tasks record now (§10; None: unscheduled)."""
    matched, unrecorded = match_tasks(tasks, steps)
    index_of = {t.id: k for k, t in enumerate(tasks)}
    shape = Shape(number, "order_and_name" if unrecorded else "step_id")

    def show(outcome: StepOutcome, task: Task | None) -> None:
        shape.outcomes.append(outcome)
        shape.indices.append(index_of[task.id] if task is not None else None)

    def fields(task: Task, step: Step) -> list[Any]:
        return task_fields(task, step, records.get(step.position))

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
    next_pending: list[tuple[Step, Task | None]] = []  # the new pending tasks, in order
    active_step = matched.get(active.id) if active is not None else None
    shape.active_index = index_of[active.id] if active is not None else None
    active_write: TaskWrite | None = None

    for i, step in enumerate(steps):
        task = by_step.get(step.step_id)
        if step.step_id in done_steps and task is not None:
            show(StepOutcome(DONE, task.name, step.position, task.order, None, task.status), task)
            continue
        if active is not None and task is active:
            changes = fields(active, step)
            show(
                StepOutcome(
                    CHANGED if changes else KEPT,
                    step.name,
                    step.position,
                    active.order,
                    None,
                    "active",
                    tuple(changes),
                ),
                active,
            )
            if changes or active.order != step.position or active.step_id is None:
                active_write = TaskWrite(
                    index_of[active.id], "active", "active", step, rewrite=bool(changes)
                )
                shape.writes.append(active_write)
            continue
        if i <= position:
            show(
                StepOutcome(
                    PASSED,
                    step.name,
                    step.position,
                    task.order if task else None,
                    None,
                    task.status if task else None,
                ),
                task,
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
            show(StepOutcome(REMOVED, t.name, None, t.order, None, t.status), t)
        shape.writes.append(TaskWrite(index_of[t.id], t.status, "cancelled", None, reason=reason))
    for t in history:  # history whose step is gone: shown, never written
        if t.id not in matched:
            show(StepOutcome(DONE, t.name, None, t.order, None, t.status), t)
    for t in actives[1:]:  # never two active tasks: a second one is left as it is, reported
        show(StepOutcome(KEPT, t.name, None, t.order, None, t.status), t)

    # the active step after the migration
    starts_now = active is not None and active_step is None
    activate_first = starts_now and status == "active" and bool(next_pending)
    for n, (step, task) in enumerate(next_pending):
        becomes_active = activate_first and n == 0
        if task is None:
            show(StepOutcome(ADDED, step.name, step.position, None, None, None), None)
            shape.inserts.append(TaskInsert(step, becomes_active))
            continue
        changes = fields(task, step)
        show(
            StepOutcome(
                CHANGED if changes else KEPT,
                step.name,
                step.position,
                task.order,
                None,
                "pending",
                tuple(changes),
            ),
            task,
        )
        if changes or task.order != step.position or becomes_active or task.step_id is None:
            shape.writes.append(
                TaskWrite(
                    index_of[task.id],
                    "pending",
                    "active" if becomes_active else "pending",
                    step,
                    rewrite=bool(changes),
                    activates=becomes_active,
                )
            )
    order = sorted(
        range(len(shape.outcomes)),
        key=lambda n: (
            shape.outcomes[n].new_order or shape.outcomes[n].old_order or 0,
            shape.outcomes[n].new_order is None,
        ),
    )
    shape.outcomes = [shape.outcomes[n] for n in order]
    shape.indices = [shape.indices[n] for n in order]

    # --reschedule: the active task's due date (computed per instance)
    if active is not None and active_step is not None and reschedule and active.due_date:
        shape.rescheduled = active_step
        shape.old_delay = active.delay or (active_step.delay_value, active_step.delay_unit)
        if active_write is not None:
            shape.writes[shape.writes.index(active_write)] = TaskWrite(
                active_write.index,
                "active",
                "active",
                active_step,
                rewrite=active_write.rewrite,
                reschedule=True,
            )
        else:
            shape.writes.append(
                TaskWrite(
                    index_of[active.id],
                    "active",
                    "active",
                    active_step,
                    reschedule=True,
                    reschedule_only=True,
                )
            )

    shape.active_before = active.name if active else None
    if active_step is not None:
        shape.active_after, shape.active_after_order = active_step.name, active_step.position
    elif starts_now and next_pending:
        shape.active_after = next_pending[0][0].name
        shape.active_after_order = next_pending[0][0].position
    shape.starts_now = starts_now
    shape.completes = activate_first is False and starts_now and status == "active"
    current = shape.active_after_order
    if current is None and anchor is not None and anchor.id in matched:
        current = matched[anchor.id].position
    shape.current_step_order = current
    return shape

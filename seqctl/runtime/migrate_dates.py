"""Due dates a migration sets (spec §9, §10): a step that starts now, and ``--reschedule``.

Unscheduled steps count as progression does without a schedule: calendar days in the
configured zone, exact hours and minutes. A step with a schedule (the template's, or its
own window) is due as progression would make it due: the unscheduled due date moved
forward into the schedule, in the zone of the instance's restaurant (or organisation, or
the schedule's own zone), with business-day counting; and the task records that schedule
with its zone, like the tasks ``apply`` and progression write. Each due date is computed
once per distinct (step, zone, base).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .steps import Step

if TYPE_CHECKING:  # the schedule engine (and its holidays) is imported only when needed
    from .scheduling import StepSchedule, TemplateSchedule


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


@dataclass
class DueDates:
    """Due dates of one migration: ``configured`` is the configured zone; ``schedule`` the
    template's schedule per step (None: unscheduled, the SQL-compatible arithmetic)."""

    configured: str
    now: datetime
    schedule: TemplateSchedule | None = None
    _cache: dict[tuple[Any, ...], datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.zone = ZoneInfo(self.configured)

    def step_schedule(self, step: Step) -> StepSchedule | None:
        if self.schedule is None:
            return None
        return self.schedule.steps.get(step.position)

    def records(self, steps: list[Step]) -> dict[int, Mapping[str, Any] | None]:
        """position -> the schedule its tasks record (without the zone); None: none."""
        return {
            s.position: (found.record if (found := self.step_schedule(s)) else None) for s in steps
        }

    def starting_now(self, step: Step, zone: str | None) -> datetime:
        """The due date of ``step`` starting now, for an instance scheduled in ``zone``."""
        return self._due(self.now, step, zone)

    def rescheduled(
        self,
        step: Step,
        zone: str | None,
        due: datetime,
        old_delay: tuple[int, str],
        activated_at: datetime | None,
    ) -> datetime:
        """``--reschedule``: the active task is due at its activation + the step's delay.
        Unscheduled, the activation is its due date minus the delay it recorded (so a
        resume's push back is kept); scheduled, that cannot be undone, so it is the
        recorded activation time (``metadata.sequence.activated_at``) when there is one."""
        if self.step_schedule(step) is not None and activated_at is not None:
            return self._due(activated_at, step, zone)
        started = sub_delay(due, old_delay[0], old_delay[1], self.zone)
        return self._due(started, step, zone)

    def _due(self, base: datetime, step: Step, zone: str | None) -> datetime:
        scheduled = self.step_schedule(step)
        key = (base, step.position, zone if scheduled is not None else None)
        found = self._cache.get(key)
        if found is None:
            if scheduled is None:
                found = add_delay(base, step.delay_value, step.delay_unit, self.zone)
            else:
                from .schedule import due_date

                found = due_date(
                    base,
                    step.delay_value,
                    step.delay_unit,
                    scheduled.schedule,
                    ZoneInfo(zone or self.configured),
                    configured=self.zone,
                )
            self._cache[key] = found
        return found

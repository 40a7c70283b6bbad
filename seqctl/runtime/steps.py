"""A template's steps as read once when instances start: what each task is made from.

Read once per run, so a run is consistent even if the template is edited meanwhile; each
task records its step's delay (``metadata.sequence``) so later edits never reach it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..db.crm_columns import MESSAGE_CONTENT, MESSAGE_SUBJECT, crm_columns
from ..errors import InvalidInput
from ..pg import Connection, tx
from ..templates.rendering import CompiledMessage, compile_message
from ..templates.spec import Organisation
from .lookup import Template


@dataclass(frozen=True)
class Step:
    """A template step as read once at the start of the run (later edits do not matter)."""

    position: int  # 1..N: the task's sequence_step_order
    step_id: str
    step_order: int
    name: str
    description: str | None
    type: str
    priority: str
    task_template_id: str | None
    message_template_id: str | None
    message: str | None
    delay_value: int
    delay_unit: str
    # the task's subject: for email steps the message template's, else the step's, else the
    # task template's (rendered); other steps keep the step's own, never rendered
    subject: str | None = None
    hours: str | None = None  # §10: the step's own window (metadata.seqctl.hours)

    @functools.cached_property
    def compiled(self) -> CompiledMessage | None:  # compiled once per step, not per access
        return compile_message(self.message) if self.message is not None else None


# the task columns a step's content sets, named as on ``tasks`` (the one list of them)
TASK_COLUMNS = (
    "name",
    "description",
    "type",
    "priority",
    "task_template_id",
    "message_template_id",
    "message",
    "subject_line",
)


def task_columns(step: Step) -> dict[str, Any]:
    """:data:`TASK_COLUMNS` -> the step's values (its subject is ``subject_line``)."""
    return {
        column: step.subject if column == "subject_line" else getattr(step, column)
        for column in TASK_COLUMNS
    }


def load_steps(conn: Connection, template: Template, org: Organisation) -> list[Step]:
    """The template's steps in order, with each task's message and subject as the
    application chooses them (§4): message = the message template's content, else the
    step's custom message, else the task template's default message.

    Only the organisation's task and message templates are read (spec §7, "Tenants never
    mix"): a step linked to any other one (another organisation's, or one row level
    security hides) is refused, naming the step, and its text is never read.
    """
    crm = crm_columns(conn)
    content = crm.require(
        *MESSAGE_CONTENT, needed_by="starting a step that uses a message template"
    )
    mt_subject = crm.expression("mt", *MESSAGE_SUBJECT)
    tt_subject = crm.expression("tt", "task_templates", ("subject_line",))
    rows = tx(conn).rows(
        "SELECT s.id, s.step_order, s.name, s.description, s.type, s.priority, "
        "s.task_template_id, s.message_template_id, s.delay_value, s.delay_unit, "
        "s.metadata -> 'seqctl' ->> 'hours' AS hours, "
        f"COALESCE(NULLIF(mt.{content}, ''), NULLIF(s.custom_message, ''), "
        "tt.default_message) AS message, "
        f"CASE WHEN s.type = 'email' THEN COALESCE(NULLIF({mt_subject}, ''), "
        f"NULLIF(s.subject_line, ''), NULLIF({tt_subject}, '')) "
        "ELSE NULLIF(s.subject_line, '') END AS subject, "
        "s.message_template_id IS NOT NULL AND mt.id IS NULL AS foreign_message, "
        "s.task_template_id IS NOT NULL AND tt.id IS NULL AS foreign_task "
        "FROM sequence_steps s "
        "LEFT JOIN message_templates mt ON mt.id = s.message_template_id "
        "AND mt.organisation_id = CAST(:org AS uuid) "
        "LEFT JOIN task_templates tt ON tt.id = s.task_template_id "
        "AND tt.organisation_id = CAST(:org AS uuid) "
        "WHERE s.sequence_template_id = :id ORDER BY s.step_order",
        {"id": template.id, "org": org.id},
    )
    foreign = [
        f"step {r.step_order} {r.name!r} is linked to {what} {ref}"
        for r in rows
        for what, ref, flag in (
            ("message template", r.message_template_id, r.foreign_message),
            ("task template", r.task_template_id, r.foreign_task),
        )
        if flag
    ]
    if foreign:
        key = f"key {template.key}, " if template.key else ""
        raise InvalidInput(
            f"template {template.name!r} ({key}{template.id}): "
            + "; ".join(foreign)
            + f", which is another organisation's (or one you cannot read), not one of "
            f"organisation {org.name!r}; nothing was started",
            hint="link the step to a template of this organisation (task_template/"
            "message_template in its file, then `seqctl sync`; or in the web app), "
            "or remove the link",
        )
    return [
        Step(
            position,
            str(r.id),
            r.step_order,
            r.name,
            r.description,
            r.type,
            r.priority,
            str(r.task_template_id) if r.task_template_id else None,
            str(r.message_template_id) if r.message_template_id else None,
            r.message,
            r.delay_value,
            r.delay_unit,
            r.subject,
            r.hours,
        )
        for position, r in enumerate(rows, start=1)
    ]


def steps_json(
    template_id: str, steps: list[Step], schedules: Mapping[int, Any] | None = None
) -> str:
    """The steps as JSON rows for ``jsonb_to_recordset``, each with its task metadata
    (and, for a scheduled template, the schedule its tasks record, by position)."""
    return json.dumps(
        [
            {
                "position": s.position,
                "name": s.name,
                "description": s.description,
                "type": s.type,
                "priority": s.priority,
                "task_template_id": s.task_template_id,
                "message_template_id": s.message_template_id,
                "message": s.message,
                "subject": s.subject,
                "delay_value": s.delay_value,
                "delay_unit": s.delay_unit,
                **({"schedule": schedules.get(s.position)} if schedules is not None else {}),
                "metadata": {
                    "sequence": {
                        "template_id": template_id,
                        "step_id": s.step_id,
                        "step_order": s.step_order,
                        "delay_value": s.delay_value,
                        "delay_unit": s.delay_unit,
                    }
                },
            }
            for s in steps
        ]
    )

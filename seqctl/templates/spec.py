"""The desired state: templates as read from YAML files, with defaults applied.

This is what the loader/validator produces and what the planner consumes. It knows
nothing of YAML or of the database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..vocabulary import (
    DEFAULT_DELAY_UNIT,
    DEFAULT_DELAY_VALUE,
    DEFAULT_PRIORITY,
    DelayUnit,
    Priority,
    StepType,
)
from .problems import parent_path

STEP_TYPES = tuple(t.value for t in StepType)
PRIORITIES = tuple(p.value for p in Priority)
DELAY_UNITS = tuple(u.value for u in DelayUnit)


@dataclass(frozen=True)
class Organisation:
    id: str
    name: str


@dataclass(frozen=True, order=True)
class Location:
    """A place in a source file; line and column are 1-based."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class StepSpec:
    step_order: int
    name: str
    type: str
    priority: str = DEFAULT_PRIORITY
    description: str | None = None
    delay_value: int = DEFAULT_DELAY_VALUE
    delay_unit: str = DEFAULT_DELAY_UNIT
    task_template: str | None = None
    message_template: str | None = None
    custom_message: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    subject_line: str | None = None  # revision 005: the subject of an email step's task
    hours: str | None = None  # §10: the step's own window, normalised

    def normalised(self) -> dict[str, Any]:
        # subject_line only when set: digests of steps without one stay as before 005
        subject = {} if self.subject_line is None else {"subject_line": self.subject_line}
        if self.hours is not None:
            subject["hours"] = self.hours
        return {
            "name": self.name,
            "type": self.type,
            "priority": self.priority,
            "description": self.description,
            "delay_value": self.delay_value,
            "delay_unit": self.delay_unit,
            "task_template": self.task_template,
            "message_template": self.message_template,
            "custom_message": self.custom_message,
            **subject,
            "metadata": dict(self.metadata),
        }


@dataclass(frozen=True)
class TemplateSpec:
    key: str
    name: str
    steps: tuple[StepSpec, ...]
    description: str | None = None
    tags: tuple[str, ...] = ()
    is_active: bool = True
    metadata: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""
    locations: Mapping[str, Location] = field(default_factory=dict, compare=False)
    # the declared variables that apply to the file (seqctl.templates.declared): name -> declaration
    variables: Mapping[str, Any] = field(default_factory=dict)
    # §10: the normalised schedule (seqctl.templates.schedule_format), {} without one
    schedule: Mapping[str, Any] = field(default_factory=dict)
    # spec §9: keep | migrate (sync moves running instances to the new version)
    running_instances: str = "keep"

    def normalised(self) -> dict[str, Any]:
        """The content that defines the template, defaults applied, as plain JSON data."""
        return {
            "key": self.key,
            "name": self.name,
            "description": self.description,
            "tags": list(self.tags),
            "is_active": self.is_active,
            "metadata": dict(self.metadata),
            "steps": [step.normalised() for step in self.steps],
            **({"variables": dict(self.variables)} if self.variables else {}),
            **({"schedule": dict(self.schedule)} if self.schedule else {}),
            **({"running_instances": self.running_instances}
               if self.running_instances != "keep" else {}),
        }  # fmt: skip

    @property
    def digest(self) -> str:
        return content_digest(self.normalised())

    def location(self, json_path: str = "$") -> Location:
        """The source position of ``json_path``, or of its closest recorded ancestor."""
        path: str | None = json_path
        while path is not None:
            if path in self.locations:
                return self.locations[path]
            path = parent_path(path)
        return Location(self.source, 1, 1)


@dataclass(frozen=True)
class FieldChange:
    """One field of a template, step or task: its value before and after (sync and migrate)."""

    field: str
    old: Any
    new: Any


def canonical_json(data: Any) -> str:
    """The one canonical JSON text of seqctl's digests and signatures: sorted keys, no
    spaces, UTF-8 as is; a ``Decimal`` (a jsonb number read back) tagged so that no string
    can equal it."""
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_number
    )


def _json_number(value: Any) -> Any:
    if isinstance(value, Decimal):  # tagged with NUL: no string stored in jsonb can equal it
        return ["\u0000number", str(value)]
    raise TypeError(f"not JSON data: {type(value).__name__}")


def content_digest(data: Any) -> str:
    """sha256 of the canonical JSON form of ``data``."""
    return "sha256:" + hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()

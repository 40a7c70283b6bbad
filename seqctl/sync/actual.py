"""The actual state: an organisation's sequence templates, steps and instance counts.

Read in a constant number of queries whatever the number of templates, and turned into
plain "row form" dictionaries that the planner compares with the files. A template is
*managed* when ``metadata.seqctl.key`` is set; every other row is left alone by sync.
"""

from __future__ import annotations

import json
import typing
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..pg import Connection, tx
from ..templates.declared import SEQCTL_KEY as SEQCTL_KEY
from ..templates.declared import stored_variables as stored_variables
from ..templates.schedule_format import stored_schedule
from ..templates.spec import Organisation, canonical_json, content_digest
from .plan import StepFields, TemplateRow

TEMPLATE_FIELDS = ("name", "description", "tags", "is_active", "metadata")
STEP_FIELDS = (
    "name",
    "type",
    "priority",
    "description",
    "delay_value",
    "delay_unit",
    "task_template_id",
    "message_template_id",
    "custom_message",
    "subject_line",
    "metadata",
)
# fields added after the first release (revision 005): part of a digest only when set, so
# that the digests stored by earlier syncs stay valid
LATER_STEP_FIELDS = ("subject_line",)


@dataclass(frozen=True)
class ActualStep:
    id: str
    step_order: int
    row: StepFields  # NULL metadata read as {}
    updated_at: int  # µs since the epoch


@dataclass(frozen=True)
class ActualTemplate:
    id: str
    row: TemplateRow  # metadata as stored (with the seqctl entry)
    steps: tuple[ActualStep, ...]
    updated_at: int  # µs since the epoch
    instances: Mapping[str, int] = field(default_factory=dict)  # status -> count

    @property
    def name(self) -> str:
        return str(self.row["name"])

    @property
    def seqctl(self) -> Mapping[str, Any] | None:
        """The bookkeeping sync stored in ``metadata.seqctl``, or None for an unmanaged row."""
        entry = (self.row.get("metadata") or {}).get(SEQCTL_KEY)
        if isinstance(entry, Mapping) and isinstance(entry.get("key"), str):
            return entry
        return None

    @property
    def key(self) -> str | None:
        entry = self.seqctl
        return str(entry["key"]) if entry else None

    @property
    def running(self) -> int:
        return self.instances.get("active", 0) + self.instances.get("paused", 0)

    @property
    def total_instances(self) -> int:
        return sum(self.instances.values())

    def digest(self) -> str:
        """The digest of the row as it is now (compare with the one stored at the last sync)."""
        return row_digest(
            self.row,
            [dict(step.row, step_order=step.step_order) for step in self.steps],
            stored_variables(self.row.get("metadata")),
            stored_schedule(self.row.get("metadata")),
        )


@dataclass(frozen=True)
class Reference:
    """A task or message template of the organisation that steps may refer to."""

    id: str
    name: str
    is_active: bool = True


@dataclass(frozen=True)
class ActualState:
    organisation: Organisation
    templates: tuple[ActualTemplate, ...]
    task_templates: tuple[Reference, ...] = ()
    message_templates: tuple[Reference, ...] = ()

    @property
    def managed(self) -> tuple[ActualTemplate, ...]:
        return tuple(t for t in self.templates if t.key is not None)

    @property
    def unmanaged(self) -> tuple[ActualTemplate, ...]:
        return tuple(t for t in self.templates if t.key is None)

    def fingerprint(self) -> str:
        """A hash of what a plan is made from: every template row and step row of the
        organisation (ids, step orders and the content fields, metadata included). Any
        content write by a sync or the web app changes it; ``usage_count`` and
        ``updated_at``, which ``apply`` moves, and instances are left out, so starting a
        sequence does not make a saved plan stale."""
        return content_digest(
            {
                "organisation": self.organisation.id,
                "templates": sorted(
                    [
                        t.id,
                        _fingerprinted_row(t.row, TEMPLATE_FIELDS),
                        [
                            [s.id, s.step_order, _fingerprinted_row(s.row, STEP_FIELDS)]
                            for s in t.steps
                        ],
                    ]
                    for t in self.templates
                ),
            }
        )


def _fingerprinted_row(row: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """The ``fields`` of a row in a form that hashes the same whenever they read back the
    same: mappings and lists in canonical form, other values as they are."""
    values = {}
    for name in fields:
        value: Any = row.get(name)
        kind: type = type(value)  # (most columns are text or null: no ABC check for those)
        if kind is str or value is None or kind is int or kind is bool:
            values[name] = value
        elif kind is dict or isinstance(value, Mapping | list):
            values[name] = canonical(value)
        else:
            values[name] = value
    return values


def user_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """The metadata without seqctl's own entry."""
    return {k: v for k, v in (metadata or {}).items() if k != SEQCTL_KEY}


def canonical(value: Any) -> Any:
    """JSON data with every number as a normalised Decimal: what jsonb keeps of it.

    jsonb stores numbers as decimals and prints them without exponent, so the float
    ``2.450409839656763e+16`` comes back as the integer ``24504098396567630`` (and ``-0.0``
    as ``0.0``); compared in this form, what was written reads back equal.
    """
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return value
    if kind is dict:  # the common case first, without ABC checks (the same as below)
        return {k if type(k) is str else str(k): canonical(v) for k, v in value.items()}
    if kind is list:
        return [canonical(v) for v in value]
    if isinstance(value, bool) or isinstance(value, str):
        return value  # (numbers go on even when false: -0.0 must become 0 like 0.0 and 0)
    if isinstance(value, int | float):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        return Decimal(0) if number == 0 else number.normalize()
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    return value


def signature(value: Any) -> str:
    """A canonical text of JSON data: equal for values that jsonb stores equally."""
    return canonical_json(canonical(value))


def row_digest(
    template: Mapping[str, Any],
    steps: Sequence[Mapping[str, Any]],
    variables: Mapping[str, Any] | None = None,
    schedule: Mapping[str, Any] | None = None,
) -> str:
    """The digest stored in ``metadata.seqctl.digest``: the normalised template content with
    task and message template references resolved to UUIDs, and the declared variables
    stored with it. It can be computed from the files and from the rows alike, which is
    what makes drift detection exact. Later fields and variables count only when set."""
    content: dict[str, Any] = {
        "name": template["name"],
        "description": template.get("description"),
        "tags": list(template.get("tags") or []),
        "is_active": bool(template["is_active"]),
        "metadata": canonical(user_metadata(template.get("metadata"))),
        "steps": [
            {
                "step_order": step["step_order"],
                **{
                    f: step.get(f)
                    for f in STEP_FIELDS
                    if f not in LATER_STEP_FIELDS or step.get(f) is not None
                },
                "metadata": canonical(step.get("metadata") or {}),
            }
            for step in steps
        ],
    }
    if variables:
        content["variables"] = canonical(dict(variables))
    if schedule:
        content["schedule"] = canonical(dict(schedule))
    return content_digest(content)


# id, template id, step_order, updated_at (µs since the epoch), then STEP_FIELDS
STEPS_AS_JSON = f"""
SELECT coalesce(json_agg(json_build_array(
    s.id, s.sequence_template_id, s.step_order,
    (extract(epoch FROM s.updated_at) * 1000000)::bigint,
    {", ".join("s." + f for f in STEP_FIELDS)}
  ) ORDER BY s.sequence_template_id, s.step_order)::text, '[]')
FROM sequence_steps AS s JOIN sequence_templates AS t ON t.id = s.sequence_template_id
WHERE t.organisation_id = CAST(:org AS uuid)
"""
TEMPLATES = """
SELECT t.id, t.name, t.description, t.tags, t.is_active, t.metadata,
       (extract(epoch FROM t.updated_at) * 1000000)::bigint AS updated_at
FROM sequence_templates AS t
WHERE t.organisation_id = CAST(:org AS uuid)
ORDER BY t.name, t.id
"""
INSTANCE_COUNTS = """
SELECT i.sequence_template_id, i.status, count(*)
FROM sequence_instances AS i JOIN sequence_templates AS t ON t.id = i.sequence_template_id
WHERE t.organisation_id = CAST(:org AS uuid)
GROUP BY i.sequence_template_id, i.status
"""
REFERENCES = """
SELECT 'task' AS kind, tt.id, tt.name, coalesce(tt.is_active, true) AS is_active
FROM task_templates AS tt WHERE tt.organisation_id = CAST(:org AS uuid)
UNION ALL
SELECT 'message', mt.id, mt.name, coalesce(mt.is_active, true)
FROM message_templates AS mt WHERE mt.organisation_id = CAST(:org AS uuid)
"""


def read_state(conn: Connection, organisation: Organisation) -> ActualState:
    """The organisation's templates with their steps and instance counts, in 4 queries.

    The steps come as one JSON document (parsed by the C decoder: ten thousand steps
    take a few milliseconds instead of a few hundred as result rows)."""
    org = organisation.id
    current = tx(conn)
    template_rows = current.rows(TEMPLATES, {"org": org})
    step_rows = json.loads(current.scalar_one(STEPS_AS_JSON, {"org": org}))
    count_rows = current.rows(INSTANCE_COUNTS, {"org": org})
    reference_rows = current.rows(REFERENCES, {"org": org})

    steps: dict[str, list[ActualStep]] = defaultdict(list)
    for row in step_rows:
        step_id, template_id, order, updated_at, *values = row
        # the JSON array holds STEP_FIELDS in order (STEPS_AS_JSON): a StepFields by construction
        fields = typing.cast(StepFields, dict(zip(STEP_FIELDS, values, strict=True)))
        fields["metadata"] = fields["metadata"] or {}
        steps[template_id].append(ActualStep(step_id, order, fields, updated_at))
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for template_id, status, count in count_rows:
        counts[str(template_id)][str(status)] = int(count)
    templates = tuple(
        ActualTemplate(
            id=str(row.id),
            row={
                "name": row.name,
                "description": row.description,
                "tags": list(row.tags or []),
                "is_active": bool(row.is_active),
                "metadata": dict(row.metadata or {}),
            },
            steps=tuple(steps.get(str(row.id), ())),
            updated_at=row.updated_at,
            instances=counts.get(str(row.id), {}),
        )
        for row in template_rows
    )
    return ActualState(
        organisation=organisation,
        templates=templates,
        task_templates=tuple(
            Reference(str(r.id), r.name, bool(r.is_active))
            for r in reference_rows
            if r.kind == "task"
        ),
        message_templates=tuple(
            Reference(str(r.id), r.name, bool(r.is_active))
            for r in reference_rows
            if r.kind == "message"
        ),
    )


def instances_of(
    conn: Connection, template_ids: Sequence[str], limit: int = 10
) -> dict[str, list[str]]:
    """Up to ``limit`` instances per template, described as ``name (status, id)``."""
    rows = tx(conn).rows(
        """
        SELECT r.sequence_template_id, r.id, r.name, r.status FROM (
          SELECT i.sequence_template_id, i.id, i.name, i.status,
                 row_number() OVER (PARTITION BY i.sequence_template_id
                                    ORDER BY i.started_at) AS n
          FROM sequence_instances AS i
          WHERE i.sequence_template_id = ANY(CAST(:ids AS uuid[]))
        ) AS r
        WHERE r.n <= :limit
        ORDER BY r.n
        """,
        {"ids": list(template_ids), "limit": limit},
    )
    found: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        found[str(row.sequence_template_id)].append(f"{row.name!r} ({row.status}, {row.id})")
    return dict(found)

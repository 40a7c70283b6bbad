"""A plan: the typed list of changes that make an organisation's rows match the files.

The planner builds it, the renderers print it, sync applies it. A plan is plain data: it
round-trips through JSON (``format_version`` "1", described by ``schemas/plan.schema.json``)
so that ``seqctl plan --out FILE`` and ``seqctl sync --plan FILE`` apply exactly what was
reviewed.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from ..templates.spec import FieldChange, Location, Organisation

FORMAT_VERSION = "1"

TemplateKind = Literal["create", "update", "reactivate", "adopt", "deactivate", "delete"]
StepKind = Literal["create", "update", "move", "delete"]
# the same words as seqctl.vocabulary.TemplateAction / StepAction (a test keeps them equal)
# the four numbers of the summary line; reactivations and adoptions are updates
SUMMARY: dict[str, tuple[TemplateKind, ...]] = {
    "create": ("create",),
    "update": ("update", "reactivate", "adopt"),
    "deactivate": ("deactivate",),
    "delete": ("delete",),
}


class TemplateRow(TypedDict):
    """A sequence template's row as sync reads and writes it (``actual.TEMPLATE_FIELDS``)."""

    name: str
    description: str | None
    tags: list[str]
    is_active: bool
    metadata: dict[str, Any]


class StepFields(TypedDict):
    """A step's content as sync reads and writes it (``actual.STEP_FIELDS``)."""

    name: str
    type: str
    priority: str
    description: str | None
    delay_value: int
    delay_unit: str
    task_template_id: str | None
    message_template_id: str | None
    custom_message: str | None
    subject_line: str | None
    metadata: dict[str, Any]


class StepRow(StepFields):
    """A step's desired row in a plan: its content and its position (1..N)."""

    step_order: int


@dataclass(frozen=True)
class StepChange:
    kind: StepKind
    step_order: int  # the position after the sync (for a delete: its current position)
    old_step_order: int | None  # the position before (None for a create)
    name: str
    step_id: str | None = None  # the existing row (None for a create)
    fields: tuple[FieldChange, ...] = ()
    row: StepRow | None = None  # the complete desired row (not for a delete)
    location: Location | None = None


@dataclass(frozen=True)
class Impact:
    """Instances running on a changed template: they keep their snapshot, so are unaffected."""

    active: int = 0
    paused: int = 0

    @property
    def running(self) -> int:
        return self.active + self.paused


@dataclass(frozen=True)
class TemplateChange:
    kind: TemplateKind
    key: str
    name: str
    template_id: str | None = None  # the existing row (None for a create)
    source: str | None = None  # the file, or the one recorded at the last sync if removed
    location: Location | None = None
    fields: tuple[FieldChange, ...] = ()
    steps: tuple[StepChange, ...] = ()
    drift: bool = False  # the row was edited outside git since the last sync
    impact: Impact = field(default_factory=Impact)
    row: TemplateRow | None = None  # the complete desired template row (not for delete)
    # running_instances: migrate: what sync will do to the running instances (counts and
    # the digest of their state; filled in by the caller that previews it, see cli)
    migration: Mapping[str, Any] | None = None

    @property
    def migration_impact(self) -> str | None:
        """``3 instance(s) touched: 3 task(s) added, 1 changed, 2 cancelled``, if previewed."""
        m = self.migration
        if not m:
            return None
        return (
            f"{m.get('instances_changed', 0)} instance(s) touched: {m.get('tasks_added', 0)} "
            f"task(s) added, {m.get('tasks_changed', 0)} changed, "
            f"{m.get('tasks_cancelled', 0)} cancelled"
        )

    @property
    def _seqctl_entry(self) -> Any:
        """``metadata.seqctl`` of the desired row (None without one)."""
        return (self.row["metadata"] or {}).get("seqctl") if self.row is not None else None

    @property
    def new_version(self) -> int | None:
        """The template version this change writes (spec §9), if it records one."""
        entry = self._seqctl_entry
        found = entry.get("version") if isinstance(entry, Mapping) else None
        return found if isinstance(found, int) and not isinstance(found, bool) else None

    @property
    def changes_content(self) -> bool:
        """Whether the steps or the template's content change (a new version)."""
        return self.kind in ("update", "reactivate", "adopt") and (
            bool(self.steps)
            or any(f.field not in ("source", "is_active", "running_instances") for f in self.fields)
        )

    @property
    def running_instances(self) -> str:
        """keep | migrate: what sync does to the running instances (spec §9)."""
        entry = self._seqctl_entry
        found = entry.get("running_instances") if isinstance(entry, Mapping) else None
        return "migrate" if found == "migrate" else "keep"

    @property
    def migrates_running(self) -> bool:
        """Whether sync moves this template's running instances to the new version."""
        return self.running_instances == "migrate" and self.changes_content

    @property
    def stay_on_version(self) -> int:
        """Running instances that stay on their (now older) version after this change."""
        return self.impact.running if self.changes_content and not self.migrates_running else 0

    @property
    def migrated(self) -> int:
        """Running instances that sync moves to the new version (running_instances: migrate)."""
        return self.impact.running if self.migrates_running else 0

    @property
    def migrate_command(self) -> str | None:
        """The command that moves those instances to the new version."""
        return f"seqctl migrate --template {self.key}" if self.stay_on_version else None


@dataclass(frozen=True)
class PlanOptions:
    prune: bool = False
    adopt: bool = False
    allow_empty: bool = False


@dataclass(frozen=True)
class Plan:
    organisation: Organisation
    # the fingerprint of the organisation's rows when the plan was made (see actual.py), or
    # a function that computes it from the rows read then: only a saved or JSON plan shows
    # it, so `seqctl sync` of a thousand templates need not hash them all
    fingerprint_source: str | Callable[[], str] = field(compare=False)
    options: PlanOptions = PlanOptions()
    changes: tuple[TemplateChange, ...] = ()
    unchanged: int = 0  # managed templates already matching their files
    unmanaged: int = 0  # templates without metadata.seqctl, never touched
    blocked: tuple[TemplateChange, ...] = ()  # prunes refused: the templates have instances
    outside_scope: int = 0  # managed templates whose source lies outside the PATHs: untouched

    @functools.cached_property
    def fingerprint(self) -> str:
        """Of the organisation's rows when the plan was made (see actual.py)."""
        source = self.fingerprint_source
        return source if isinstance(source, str) else source()

    def __eq__(self, other: object) -> bool:  # (@dataclass keeps it; its __hash__ leaves
        # out the fingerprint, which equal plans share)
        if not isinstance(other, Plan):
            return NotImplemented
        return self.fingerprint == other.fingerprint and _compared(self) == _compared(other)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def drifted(self) -> tuple[TemplateChange, ...]:
        return tuple(c for c in self.changes if c.drift)

    def counts(self) -> dict[str, int]:
        return {
            name: sum(1 for c in self.changes if c.kind in kinds) for name, kinds in SUMMARY.items()
        }

    def summary(self, *, applied: bool = False) -> str:
        counts = self.counts()
        if applied:
            return (
                f"Applied: {counts['create']} created, {counts['update']} updated, "
                f"{counts['deactivate']} deactivated, {counts['delete']} deleted"
            )
        return (
            f"Plan: {counts['create']} to create, {counts['update']} to update, "
            f"{counts['deactivate']} to deactivate, {counts['delete']} to delete"
        )


def _compared(plan: Plan) -> tuple[Any, ...]:
    """What plans are compared by, besides the fingerprint: every other field."""
    return tuple(getattr(plan, f.name) for f in dataclasses.fields(plan) if f.compare)


# -- JSON ------------------------------------------------------------------------------


def _location(location: Location | None) -> dict[str, Any] | None:
    if location is None:
        return None
    return {"file": location.file, "line": location.line, "column": location.column}


def _fields(fields: tuple[FieldChange, ...]) -> list[dict[str, Any]]:
    return [{"field": f.field, "old": f.old, "new": f.new} for f in fields]


def plan_to_document(plan: Plan, *, applied: bool = False) -> dict[str, Any]:
    """The JSON document of a plan (``schemas/plan.schema.json``)."""
    return {
        "format_version": FORMAT_VERSION,
        "applied": applied,
        "organisation": {"id": plan.organisation.id, "name": plan.organisation.name},
        "fingerprint": plan.fingerprint,
        "options": {
            "prune": plan.options.prune,
            "adopt": plan.options.adopt,
            "allow_empty": plan.options.allow_empty,
        },
        "summary": {
            **plan.counts(),
            **{
                f"{kind}s": sum(1 for c in plan.changes if c.kind == kind)
                for kind in ("reactivate", "adopt")
            },
            "drift": len(plan.drifted),
            "unchanged": plan.unchanged,
            "unmanaged": plan.unmanaged,
            "outside_scope": plan.outside_scope,
        },
        "summary_line": plan.summary(applied=applied),
        "changes": [
            {
                "kind": change.kind,
                "key": change.key,
                "name": change.name,
                "template_id": change.template_id,
                "source": change.source,
                "location": _location(change.location),
                "drift": change.drift,
                "impact": {
                    "active": change.impact.active,
                    "paused": change.impact.paused,
                    "affected": change.migrated > 0,
                    "stay_on_version": change.stay_on_version,
                    "migrate_command": change.migrate_command,
                    "migrated_by_sync": change.migrated,
                    "migration": dict(change.migration) if change.migration else None,
                },
                "fields": _fields(change.fields),
                "steps": [
                    {
                        "kind": step.kind,
                        "step_order": step.step_order,
                        "old_step_order": step.old_step_order,
                        "name": step.name,
                        "step_id": step.step_id,
                        "location": _location(step.location),
                        "fields": _fields(step.fields),
                        "row": dict(step.row) if step.row is not None else None,
                    }
                    for step in change.steps
                ],
                "row": dict(change.row) if change.row is not None else None,
            }
            for change in plan.changes
        ],
    }


def _read_location(data: Mapping[str, Any] | None) -> Location | None:
    if not data:
        return None
    return Location(str(data["file"]), int(data["line"]), int(data["column"]))


def _read_fields(data: list[Mapping[str, Any]]) -> tuple[FieldChange, ...]:
    return tuple(FieldChange(str(f["field"]), f.get("old"), f.get("new")) for f in data)


def plan_from_document(document: Mapping[str, Any]) -> Plan:
    """The plan of a JSON document made by :func:`plan_to_document` (already schema-checked)."""
    options = document["options"]
    return Plan(
        organisation=Organisation(
            str(document["organisation"]["id"]), str(document["organisation"]["name"])
        ),
        fingerprint_source=str(document["fingerprint"]),
        options=PlanOptions(
            bool(options["prune"]), bool(options["adopt"]), bool(options["allow_empty"])
        ),
        unchanged=int(document["summary"]["unchanged"]),
        unmanaged=int(document["summary"]["unmanaged"]),
        outside_scope=int(document["summary"].get("outside_scope", 0)),
        changes=tuple(
            TemplateChange(
                kind=change["kind"],
                key=str(change["key"]),
                name=str(change["name"]),
                template_id=change.get("template_id"),
                source=change.get("source"),
                location=_read_location(change.get("location")),
                drift=bool(change["drift"]),
                impact=Impact(int(change["impact"]["active"]), int(change["impact"]["paused"])),
                migration=change["impact"].get("migration"),
                fields=_read_fields(change["fields"]),
                row=change.get("row"),
                steps=tuple(
                    StepChange(
                        kind=step["kind"],
                        step_order=int(step["step_order"]),
                        old_step_order=step.get("old_step_order"),
                        name=str(step["name"]),
                        step_id=step.get("step_id"),
                        fields=_read_fields(step["fields"]),
                        row=step.get("row"),
                        location=_read_location(step.get("location")),
                    )
                    for step in change["steps"]
                ),
            )
            for change in document["changes"]
        ),
    )

"""The planner: desired state (the files) against actual state (the rows) -> a :class:`Plan`.

Pure: no database, no I/O. Template identity is ``metadata.seqctl.key``. Steps are matched
to the existing rows of their template (same content first, then same name, then same
position) so that a reorder is a move of the row, not a rewrite of every step; every
matched row is updated in place. Unmanaged rows are never touched.
"""

from __future__ import annotations

import difflib
import json
import operator
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..db.versions import FIRST_VERSION, next_version
from ..errors import Conflict, InvalidInput, Refused
from ..templates.schedule_format import (
    schedule_fields,
    split_step_metadata,
    step_metadata,
    stored_schedule,
)
from ..templates.spec import FieldChange, Location, TemplateSpec
from .actual import (
    SEQCTL_KEY,
    STEP_FIELDS,
    ActualState,
    ActualStep,
    ActualTemplate,
    row_digest,
    signature,
    stored_variables,
    user_metadata,
)
from .plan import (
    Impact,
    Plan,
    PlanOptions,
    StepChange,
    StepKind,
    StepRow,
    TemplateChange,
    TemplateKind,
    TemplateRow,
)
from .references import REFERENCE_FIELDS, References
from .scope import Scope, stored_source

PLAIN_STEP_FIELDS = tuple(f for f in STEP_FIELDS if f != "metadata")
_plain_step_fields = operator.itemgetter(*PLAIN_STEP_FIELDS)  # row -> their values, a tuple
SIMILAR = 0.6  # step names this alike (difflib ratio) are taken for a renamed step


class Problems:
    """Errors found while planning, each at a place in a file; raised together."""

    def __init__(self) -> None:
        self.items: list[tuple[Location | None, str, str | None]] = []

    def add(self, location: Location | None, message: str, hint: str | None = None) -> None:
        self.items.append((location, message, hint))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        lines = [
            f"{loc}: {msg}" if loc else msg
            for loc, msg, _ in sorted(self.items, key=lambda item: item[0] or Location("", 0, 0))
        ]
        hints = list(dict.fromkeys(hint for _, _, hint in self.items if hint))
        message = (
            lines[0]
            if len(lines) == 1
            else (f"{len(lines)} problems:\n" + "\n".join(f"  {line}" for line in lines))
        )
        raise InvalidInput(message, hint="; ".join(hints) or None)


def build_plan(
    desired: Sequence[TemplateSpec],
    actual: ActualState,
    options: PlanOptions | None = None,
    scope: Scope | None = None,
) -> Plan:
    """What sync must do so that ``actual`` matches ``desired``.

    With a ``scope`` (the PATHs the files came from), a managed template without a file is
    deactivated or pruned only when its stored source lies in the scope; the others are
    left alone and counted (``Plan.outside_scope``). Without one, every managed template
    of the organisation is in scope.

    Raises InvalidInput (unresolvable references, name collisions, duplicate keys, each
    pointing at its file:line:col), Conflict (two rows claim one key) and Refused
    (``--prune`` of an empty set of files without ``allow_empty``).
    """
    options = options or PlanOptions()
    if options.prune and not desired and not options.allow_empty:
        raise Refused(
            "--prune with no template files would delete every managed template",
            hint="check the PATH arguments, or pass --allow-empty if that is intended",
        )
    problems = Problems()
    managed = _managed_by_key(actual)
    unmanaged: dict[str, list[ActualTemplate]] = defaultdict(list)
    for template in actual.unmanaged:
        unmanaged[template.name].append(template)
    refs = {
        "task_template_id": References("task template", actual.task_templates),
        "message_template_id": References("message template", actual.message_templates),
    }
    seen: dict[str, TemplateSpec] = {}
    adopted: set[str] = set()
    changes: list[TemplateChange] = []
    unchanged = 0
    for spec in sorted(desired, key=lambda s: s.key):
        if spec.key in seen:
            problems.add(
                spec.location("$.key"),
                f"key {spec.key!r} is also used by {seen[spec.key].source}",
                "keys must be unique across the files",
            )
            continue
        seen[spec.key] = spec
        steps = _desired_steps(spec, refs, problems) if _storable(spec, problems) else None
        current = managed.get(spec.key)
        kind: TemplateKind = "update"
        clash = unmanaged.get(spec.name, [])
        if clash:
            ids = ", ".join(t.id for t in clash)
            if not options.adopt:
                problems.add(
                    spec.location("$.name"),
                    f"an unmanaged template (made outside "
                    f"seqctl) is already named {spec.name!r} ({ids})",
                    "pass --adopt to take it over, or rename the template",
                )
                continue
            if current is not None or len(clash) > 1 or clash[0].id in adopted:
                problems.add(
                    spec.location("$.name"),
                    f"cannot adopt the unmanaged template "
                    f"{spec.name!r} ({ids}): it is ambiguous or the key "
                    f"{spec.key!r} is already managed",
                    "rename one of them",
                )
                continue
            current, kind = clash[0], "adopt"
            adopted.add(current.id)
        if steps is None:
            continue
        change = _template_change(spec, steps, current, kind, refs)
        if change is None:
            unchanged += 1
        else:
            changes.append(change)
    problems.raise_if_any()

    blocked: list[TemplateChange] = []
    outside = 0
    for key, template in sorted(managed.items()):
        if key in seen:
            continue
        if scope is not None and not scope.contains(
            stored_source((template.seqctl or {}).get("source"))
        ):
            outside += 1
            continue
        change = _orphan_change(template, key, options.prune)
        if change is None:
            continue
        if change.kind == "delete" and template.total_instances:
            blocked.append(change)
        else:
            changes.append(change)
    return Plan(
        organisation=actual.organisation,
        fingerprint_source=actual.fingerprint,  # (computed when first asked for)
        options=options,
        changes=tuple(changes),
        unchanged=unchanged,
        unmanaged=len(actual.unmanaged) - len(adopted),
        blocked=tuple(blocked),
        outside_scope=outside,
    )


def _managed_by_key(actual: ActualState) -> dict[str, ActualTemplate]:
    found: dict[str, ActualTemplate] = {}
    for template in actual.managed:
        key = str(template.key)
        if key in found:
            raise Conflict(
                f"templates {found[key].id} ({found[key].name!r}) and {template.id} "
                f"({template.name!r}) both carry the seqctl key {key!r}",
                hint="a copy made in the web app kept metadata.seqctl; remove that entry from "
                "the copy (it then becomes unmanaged) or delete it",
            )
        found[key] = template
    return found


def _storable(spec: TemplateSpec, problems: Problems) -> bool:
    """Whether the metadata mappings can be stored as jsonb (no NaN, infinity or NUL)."""
    ok = True
    places = [("$.metadata", spec.metadata)] + [
        (f"$.steps[{i}].metadata", step.metadata) for i, step in enumerate(spec.steps)
    ]
    for path, value in places:
        if not value:
            continue
        try:
            dumped = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as error:
            problems.add(
                spec.location(path),
                f"metadata cannot be stored as JSON: {error}",
                "use strings, numbers, booleans, null, lists and mappings only",
            )
            ok = False
            continue
        if "\\u0000" in dumped:
            problems.add(
                spec.location(path),
                "metadata contains a NUL character (\\u0000), which PostgreSQL cannot store",
            )
            ok = False
    return ok


def _desired_steps(
    spec: TemplateSpec, refs: Mapping[str, References], problems: Problems
) -> list[StepRow] | None:
    """The step rows the file asks for, references resolved; None if one does not resolve."""
    rows: list[StepRow] = []
    ok = True
    for index, step in enumerate(spec.steps):
        resolved: dict[str, str | None] = {}
        for column, attribute in REFERENCE_FIELDS.items():
            ref = getattr(step, attribute)
            resolved[column] = (
                None
                if ref is None
                else refs[column].resolve(
                    ref, spec.location(f"$.steps[{index}].{attribute}"), problems
                )
            )
            ok = ok and (ref is None or resolved[column] is not None)
        rows.append(
            {
                "step_order": index + 1,
                "name": step.name,
                "type": step.type,
                "priority": step.priority,
                "description": step.description,
                "delay_value": step.delay_value,
                "delay_unit": step.delay_unit,
                "task_template_id": resolved["task_template_id"],
                "message_template_id": resolved["message_template_id"],
                "custom_message": step.custom_message,
                "subject_line": step.subject_line,
                "metadata": step_metadata(step.metadata, step.hours),
            }
        )
    return rows if ok else None


def _template_change(
    spec: TemplateSpec,
    steps: list[StepRow],
    current: ActualTemplate | None,
    kind: TemplateKind,
    refs: Mapping[str, References],
) -> TemplateChange | None:
    row: TemplateRow = {
        "name": spec.name,
        "description": spec.description,
        "tags": list(spec.tags),
        "is_active": spec.is_active,
        "metadata": dict(spec.metadata),
    }
    variables = dict(spec.variables)
    schedule = dict(spec.schedule)
    digest = row_digest(row, steps, variables, schedule)
    row["metadata"][SEQCTL_KEY] = {"key": spec.key, "source": spec.source, "digest": digest}
    row["metadata"][SEQCTL_KEY]["version"] = FIRST_VERSION
    if variables:
        row["metadata"][SEQCTL_KEY]["variables"] = variables
    if schedule:
        row["metadata"][SEQCTL_KEY]["schedule"] = schedule
    if spec.running_instances != "keep":
        row["metadata"][SEQCTL_KEY]["running_instances"] = spec.running_instances
    locate: Callable[[int], Location] = lambda i: spec.location(f"$.steps[{i}]")  # noqa: E731
    if current is None:
        return TemplateChange(
            kind="create",
            key=spec.key,
            name=spec.name,
            source=spec.source,
            location=spec.location(),
            row=row,
            steps=tuple(
                StepChange("create", s["step_order"], None, s["name"], row=s, location=locate(i))
                for i, s in enumerate(steps)
            ),
        )
    fields = _template_fields(current.row, row)
    fields.extend(_variable_fields(stored_variables(current.row.get("metadata")), variables))
    fields.extend(
        FieldChange(name, old, new)
        for name, old, new in schedule_fields(
            stored_schedule(current.row.get("metadata")), schedule
        )
    )
    stored = current.seqctl or {}
    # a source stored in an older form (see seqctl.sync.scope) is no change by itself
    # (the stored text itself first: normalising costs a search for the project root)
    raw_source = stored.get("source")
    if kind != "adopt" and raw_source != spec.source and stored_source(raw_source) != spec.source:
        fields.append(FieldChange("source", stored.get("source"), spec.source))
    old_policy = stored.get("running_instances", "keep") if kind != "adopt" else "keep"
    if old_policy != spec.running_instances:
        fields.append(FieldChange("running_instances", old_policy, spec.running_instances))
    step_changes = diff_steps(steps, current.steps, refs, locate)
    if not fields and not step_changes and stored.get("digest") == digest:
        return None
    # spec §9: one version more when the content changes (not for a moved file alone)
    content = bool(step_changes) or any(
        f.field not in ("source", "running_instances") for f in fields
    )
    row["metadata"][SEQCTL_KEY]["version"] = next_version(
        stored, content or current.digest() != digest
    )
    if kind == "update" and not current.row["is_active"] and spec.is_active:
        kind = "reactivate"
    return TemplateChange(
        kind=kind,
        key=spec.key,
        name=spec.name,
        template_id=current.id,
        source=spec.source,
        location=spec.location(),
        fields=tuple(fields),
        steps=tuple(step_changes),
        drift=kind != "adopt" and stored.get("digest") != current.digest(),
        impact=Impact(current.instances.get("active", 0), current.instances.get("paused", 0)),
        row=row,
    )


def _template_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FieldChange]:
    changes = [
        FieldChange(name, old.get(name), new.get(name))
        for name in ("name", "description", "tags", "is_active")
        if old.get(name) != new.get(name)
    ]
    if signature(user_metadata(old.get("metadata"))) != signature(
        user_metadata(new.get("metadata"))
    ):
        changes.append(
            FieldChange(
                "metadata", user_metadata(old.get("metadata")), user_metadata(new.get("metadata"))
            )
        )
    return changes


def _variable_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FieldChange]:
    """The declared variables stored with the template against the file's, one per name."""
    return [
        FieldChange(f"variables.{name}", old.get(name), new.get(name))
        for name in sorted(set(old) | set(new))
        if name not in old or name not in new or signature(old[name]) != signature(new[name])
    ]


def _orphan_change(template: ActualTemplate, key: str, prune: bool) -> TemplateChange | None:
    """A managed template whose file is gone: deleted with --prune, else deactivated."""
    stored = template.seqctl or {}
    common: dict[str, Any] = {
        "key": key,
        "name": template.name,
        "template_id": template.id,
        "source": stored.get("source"),
        "drift": stored.get("digest") != template.digest(),
        "impact": Impact(template.instances.get("active", 0), template.instances.get("paused", 0)),
    }
    if prune:
        return TemplateChange(kind="delete", **common)
    if not template.row["is_active"]:
        return None
    row = template.row.copy()
    row["is_active"] = False
    steps = [dict(s.row, step_order=s.step_order) for s in template.steps]
    row["metadata"] = dict(row["metadata"])
    row["metadata"][SEQCTL_KEY] = dict(
        stored,
        digest=row_digest(
            row,
            steps,
            stored_variables(template.row.get("metadata")),
            stored_schedule(template.row.get("metadata")),
        ),
    )
    return TemplateChange(
        kind="deactivate", fields=(FieldChange("is_active", True, False),), row=row, **common
    )


def diff_steps(
    desired: Sequence[StepRow],
    actual: Sequence[ActualStep],
    refs: Mapping[str, References],
    locate: Callable[[int], Location],
) -> list[StepChange]:
    """Step changes. Each file step is matched to an existing row of the template, in passes:
    identical content, same name, same position, similar name (the nearest position wins
    a tie). A matched row is updated in place (and moved); the others are created/deleted."""
    wanted_content = [_content(d) for d in desired]
    if len(actual) == len(desired) and all(
        a.step_order == d["step_order"] and _content(a.row) == wanted
        for a, d, wanted in zip(actual, desired, wanted_content, strict=True)
    ):  # every step as it is, in place (what the passes below would find, at a glance)
        return []
    free = list(actual)
    matched: dict[int, ActualStep] = {}
    content = {id(a): _content(a.row) for a in actual}
    rules: list[Callable[[int, ActualStep], bool]] = [
        lambda i, a: wanted_content[i] == content[id(a)],
        lambda i, a: desired[i]["name"] == a.row["name"],
        lambda i, a: desired[i]["step_order"] == a.step_order,
        lambda i, a: (
            difflib.SequenceMatcher(None, desired[i]["name"], a.row["name"]).ratio() >= SIMILAR
        ),
    ]
    for rule in rules:
        for index, wanted in enumerate(desired):
            if index in matched or not free:
                continue
            candidates = [a for a in free if rule(index, a)]
            if candidates:
                best = min(candidates, key=lambda a: abs(a.step_order - wanted["step_order"]))
                matched[index] = best
                free.remove(best)
    changes: list[StepChange] = []
    for index, wanted in enumerate(desired):
        order = int(wanted["step_order"])
        row = wanted.copy()
        existing = matched.get(index)
        if existing is None:
            changes.append(
                StepChange("create", order, None, wanted["name"], row=row, location=locate(index))
            )
            continue
        if existing.step_order == order and wanted_content[index] == content[id(existing)]:
            continue
        fields = _step_fields(existing.row, wanted, refs)
        if existing.step_order != order:
            fields.insert(0, FieldChange("step_order", existing.step_order, order))
        if not fields:
            continue
        kind: StepKind = "move" if [f.field for f in fields] == ["step_order"] else "update"
        changes.append(
            StepChange(
                kind,
                order,
                existing.step_order,
                wanted["name"],
                step_id=existing.id,
                fields=tuple(fields),
                row=row,
                location=locate(index),
            )
        )
    for gone in free:
        changes.append(
            StepChange(
                "delete", gone.step_order, gone.step_order, str(gone.row["name"]), step_id=gone.id
            )
        )
    return sorted(changes, key=lambda c: (c.step_order, c.kind != "delete"))


def _content(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a step row holds, comparable exactly (metadata as jsonb compares it)."""
    metadata = row["metadata"]
    return (*_plain_step_fields(row), signature(metadata) if metadata else "{}")


def _step_fields(
    old: Mapping[str, Any], new: Mapping[str, Any], refs: Mapping[str, References]
) -> list[FieldChange]:
    changes = []
    for name in STEP_FIELDS:
        if name == "metadata":  # a step's window (§10) is shown as its own field, hours
            old_meta, old_hours = split_step_metadata(old[name])
            new_meta, new_hours = split_step_metadata(new[name])
            if old_hours != new_hours:
                changes.append(FieldChange("hours", old_hours, new_hours))
            if signature(old_meta) != signature(new_meta):
                changes.append(FieldChange(name, old_meta, new_meta))
            continue
        if old[name] == new[name]:
            continue
        if name in REFERENCE_FIELDS:
            changes.append(
                FieldChange(
                    REFERENCE_FIELDS[name],
                    refs[name].display(old[name]),
                    refs[name].display(new[name]),
                )
            )
        else:
            changes.append(FieldChange(name, old[name], new[name]))
    return changes

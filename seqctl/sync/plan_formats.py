"""Renderers of a plan: text (coloured on a terminal), JSON and Markdown.

``RENDERERS`` also supplies the ``--format`` choices of ``seqctl plan`` and ``seqctl sync``.
The Markdown form is for a pull-request comment or ``$GITHUB_STEP_SUMMARY``: its first line
is the summary, then one collapsible ``<details>`` block per template.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping
from typing import Any

from ..ids import parse_uuid
from ..inert import inert
from ..short_ids import short
from ..templates.spec import FieldChange
from .plan import Plan, StepChange, TemplateChange, plan_to_document

Renderer = Callable[[Plan, bool, bool], str]  # (plan, applied, colour) -> text

SYMBOLS = {
    "create": "+",
    "update": "~",
    "reactivate": "~",
    "adopt": "~",
    "move": ">",
    "deactivate": "-",
    "delete": "x",
}
COLOURS = {
    "create": "green",
    "update": "yellow",
    "reactivate": "yellow",
    "adopt": "cyan",
    "move": "yellow",
    "deactivate": "red",
    "delete": "red",
}
ANSI = {"green": "32", "yellow": "33", "cyan": "36", "red": "31"}
IMPACT_NOTE = "unaffected: running instances keep their snapshot of the template"
MAX_VALUE = 80
# the step fields that name a task or message template (sync.references.REFERENCE_FIELDS)
REFERENCES = ("task_template", "message_template")


def value_text(value: Any, limit: int = MAX_VALUE) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def impact_text(change: TemplateChange) -> str | None:
    if change.kind == "create" or not change.impact.running:
        return None
    impact = change.impact
    line = f"{impact.active} active, {impact.paused} paused instance(s): {IMPACT_NOTE}"
    if change.migrated:
        version = f" v{change.new_version}" if change.new_version else " the new version"
        line = (
            f"{impact.active} active, {impact.paused} paused instance(s): sync moves them to"
            f"{version} (running_instances: migrate; preview: seqctl migrate --template "
            f"{change.key} --dry-run after the sync, or sync --dry-run)"
        )
        if change.migration_impact is not None:
            line += "; " + change.migration_impact
    if change.stay_on_version:
        version = f" v{change.new_version}" if change.new_version else ""
        line += (
            f"; {change.stay_on_version} stay on their version (the template becomes"
            f"{version}); to move them: {change.migrate_command}"
        )
    return line


def where(change: TemplateChange) -> str:
    if change.location is not None:
        return inert(change.location)
    return f"file removed: {inert(change.source)}" if change.source else "file removed"


# -- text -----------------------------------------------------------------------------


def render_text(plan: Plan, applied: bool = False, colour: bool = False) -> str:
    def paint(text: str, kind: str, bold: bool = False) -> str:
        if not colour:
            return text
        codes = [ANSI[COLOURS[kind]]] if kind in COLOURS else []
        codes += ["1"] if bold else []
        return f"\x1b[{';'.join(codes)}m{text}\x1b[0m" if codes else text

    organisation = f"{inert(plan.organisation.name)} ({short(plan.organisation.id)})"
    lines = [f"Organisation: {organisation}", ""]
    for change in plan.changes:
        head = f"{SYMBOLS[change.kind]} {change.kind} {inert(change.key)} {change.name!r}"
        lines.append(f"{paint(head, change.kind, bold=True)}  ({where(change)})")
        if change.drift:
            lines.append(
                "    "
                + paint(
                    "! drift: edited outside git since the last sync; "
                    "sync puts the file's content back",
                    "delete",
                )
            )
        lines.extend(f"    {line}" for line in _field_lines(change.fields))
        for step in change.steps:
            lines.append("    " + paint(_step_head(step), step.kind))
            if step.kind == "create" and change.kind == "create":
                lines.append(f"        {inert(step_summary(step))}")
            if step.kind not in ("create", "move"):
                lines.extend(f"        {line}" for line in _field_lines(step.fields))
        impact = impact_text(change)
        if impact:
            lines.append(f"    {impact}")
    if not plan.changes:
        lines.append("No changes: the templates match the files.")
    lines += ["", " · ".join(_facts(plan)), paint(plan.summary(applied=applied), "", bold=True)]
    return "\n".join(lines)


def _facts(plan: Plan) -> list[str]:
    facts = [f"{plan.unchanged} unchanged", f"{plan.unmanaged} unmanaged (never touched)"]
    if plan.outside_scope:
        facts.append(
            f"{plan.outside_scope} managed template(s) outside the scope of the given paths "
            "(not touched)"
        )
    if plan.drifted:
        facts.append(f"{len(plan.drifted)} edited outside git (drift)")
    return facts


def _field_lines(fields: tuple[FieldChange, ...]) -> list[str]:
    return [
        f"{f.field}: {value_text(reference(f, f.old))} -> {value_text(reference(f, f.new))}"
        for f in fields
    ]


def reference(change: FieldChange, value: Any) -> Any:
    """A task or message template reference as text shows ids (spec §8): by name, or by its
    8-digit short id where the row has no name to show (JSON keeps the full UUID)."""
    if change.field in REFERENCES and isinstance(value, str):
        as_id = parse_uuid(value)
        return short(as_id) if as_id is not None else value
    return value


def step_summary(step: StepChange) -> str:
    """A new step in full, for a reviewer (spec §8): type, delay, priority, references and
    the first line of its message."""
    row: Mapping[str, Any] = step.row or {}
    value, unit = row.get("delay_value") or 0, str(row.get("delay_unit") or "days")
    delay = (
        f"after {value} {unit.removesuffix('s') if value == 1 else unit}" if value else "at once"
    )
    parts = [str(row.get("type") or "-"), delay, f"{row.get('priority') or 'medium'} priority"]
    for column, label in (
        ("task_template_id", "task template"),
        ("message_template_id", "message template"),
    ):
        if row.get(column):
            parts.append(f"{label} {short(str(row[column]))}")
    message = row.get("custom_message")
    if message:
        first = str(message).strip().splitlines()[0] if str(message).strip() else ""
        parts.append(f"message: {first[:80]}{'…' if len(first) > 80 else ''}")
    return " · ".join(parts)


def _step_head(step: StepChange) -> str:
    symbol = SYMBOLS[step.kind]
    if step.kind == "move" or (step.kind == "update" and step.old_step_order != step.step_order):
        orders = f"{step.old_step_order} -> {step.step_order}"
        return f"{symbol} step {orders} {step.name!r} ({step.kind})"
    return f"{symbol} step {step.step_order} {step.name!r} ({step.kind})"


# -- JSON -----------------------------------------------------------------------------


def render_json(plan: Plan, applied: bool = False, colour: bool = False) -> str:
    return json.dumps(plan_to_document(plan, applied=applied), indent=2, ensure_ascii=False)


# -- Markdown -------------------------------------------------------------------------


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else value_text(value, 200)
    return html.escape(text).replace("|", "&#124;").replace("\n", "<br>")


def render_markdown(plan: Plan, applied: bool = False, colour: bool = False) -> str:
    lines = [plan.summary(applied=applied), ""]
    facts = [f"Organisation **{_cell(plan.organisation.name)}**", *_facts(plan)]
    lines += [" · ".join(facts), ""]
    for change in plan.changes:
        title = (
            f"{SYMBOLS[change.kind]} <b>{change.kind}</b> <code>{_cell(change.key)}</code>"
            f" — {_cell(change.name)}" + (" ⚠️ drift" if change.drift else "")
        )
        lines += ["<details>", f"<summary>{title}</summary>", "", f"Source: `{where(change)}`", ""]
        if change.drift:
            lines += [
                "> **Drift:** this template was edited outside git since the last sync; "
                "sync puts the file's content back.",
                "",
            ]
        lines += _markdown_table(change)
        impact = impact_text(change)
        if impact:
            lines += [f"Instances: {impact}.", ""]
        lines += ["</details>", ""]
    if not plan.changes:
        lines.append("No changes.")
    return "\n".join(lines).rstrip() + "\n"


def _markdown_table(change: TemplateChange) -> list[str]:
    """| step | name | change | field | old | new |: template fields first, then steps."""
    rows: list[tuple[str, ...]] = [
        ("", "(template)", change.kind, f.field, _cell(f.old), _cell(f.new)) for f in change.fields
    ]
    for step in change.steps:
        moved = step.old_step_order not in (None, step.step_order)
        order = f"{step.old_step_order} → {step.step_order}" if moved else str(step.step_order)
        if step.kind == "create":
            rows.append((order, _cell(step.name), step.kind, "", "", _cell(step_summary(step))))
        elif step.kind == "delete":
            rows.append((order, _cell(step.name), step.kind, "", "", ""))
        else:
            rows += [
                (
                    order,
                    _cell(step.name),
                    step.kind,
                    f.field,
                    _cell(reference(f, f.old)),
                    _cell(reference(f, f.new)),
                )
                for f in step.fields
            ]
    if not rows:
        return []
    return [
        "| step | name | change | field | old | new |",
        "|---|---|---|---|---|---|",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]


RENDERERS: dict[str, Renderer] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
}

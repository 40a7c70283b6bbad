"""What ``plan`` says about rendering: variables whose restaurants column the database lacks.

A variable of the catalogue whose column is missing renders empty for every restaurant
(§5); ``plan`` and ``sync`` name each one where a template file uses it (directly, through
a declared variable built from it, or in the message or task template a step links to).
``apply --dry-run`` says the same per run.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..db.crm_columns import MESSAGE_CONTENT, MESSAGE_SUBJECT, CrmColumns, crm_columns
from ..pg import Connection, tx
from ..templates.declared import Declared, depends_on
from ..templates.rendering import CATALOGUE, RESTAURANT_COLUMNS, compile_message, missing_columns
from ..templates.spec import TemplateSpec

MESSAGE_FIELDS = ("custom_message", "subject_line")


def missing_column_warnings(
    conn: Connection, templates: Sequence[TemplateSpec], org_id: str
) -> list[str]:
    """One line per template field that uses a variable whose column the database lacks."""
    crm = crm_columns(conn)
    available = crm.present("restaurants", RESTAURANT_COLUMNS)
    if len(available) == len(RESTAURANT_COLUMNS):
        return []
    linked = _linked_texts(conn, crm, org_id)
    warnings: list[str] = []
    for spec in templates:
        declared = Declared(spec.variables)
        for index, step in enumerate(spec.steps):
            places = [
                (field, "", [getattr(step, field)] if getattr(step, field) else [])
                for field in MESSAGE_FIELDS
            ] + [
                (field, f" (in {kind} template {ref!r})", linked.get((kind, ref), []))
                for field, kind, ref in (
                    ("message_template", "message", step.message_template),
                    ("task_template", "task", step.task_template),
                )
                if ref
            ]
            for field, where, texts in places:
                used: dict[str, None] = {}
                for message in texts:
                    for name in compile_message(message, declared.names).variables:
                        if name in CATALOGUE:
                            used[name] = None
                        else:
                            used.update(dict.fromkeys(depends_on(declared.definitions.get(name))))
                path = f"$.steps[{index}].{field}"
                for variable, column in missing_columns(list(used), available).items():
                    warnings.append(
                        f"{spec.location(path)}: {path}: {{{variable}}}{where} renders empty: "
                        f"the restaurants table has no column {column}"
                    )
    return warnings


def _linked_texts(
    conn: Connection, crm: CrmColumns, org_id: str
) -> dict[tuple[str, str], list[str]]:
    """(message|task, name or id) -> the texts of the organisation's templates so named."""
    content = crm.expression("m", *MESSAGE_CONTENT)
    subject = crm.expression("m", *MESSAGE_SUBJECT)
    task_subject = crm.expression("t", "task_templates", ("subject_line",))
    rows = tx(conn).rows(
        f"""
            SELECT 'message' AS kind, m.id::text AS id, m.name, {content} AS body,
                   {subject} AS subject
            FROM message_templates m WHERE m.organisation_id = CAST(:org AS uuid)
            UNION ALL
            SELECT 'task', t.id::text, t.name, t.default_message, {task_subject}
            FROM task_templates t WHERE t.organisation_id = CAST(:org AS uuid)
        """,
        {"org": org_id},
    )
    found: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        texts = [t for t in (row.body, row.subject) if t]
        for ref in (row.id, row.name):
            found.setdefault((row.kind, ref), []).extend(texts)
    return found

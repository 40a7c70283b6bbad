"""What ``plan`` says about rendering: variables whose restaurants column the database lacks.

A variable of the catalogue whose column is missing renders empty for every restaurant
(§5); ``plan`` and ``sync`` name each one where a template file uses it (directly, or
through a declared variable built from it). ``apply --dry-run`` says the same per run.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from .crm_schema import crm_columns
from .declared import Declared, depends_on
from .model import TemplateSpec
from .rendering import CATALOGUE, RESTAURANT_COLUMNS, compile_message, missing_columns

MESSAGE_FIELDS = ("custom_message", "subject_line")


def missing_column_warnings(conn: Connection, templates: Sequence[TemplateSpec]) -> list[str]:
    """One line per template field that uses a variable whose column the database lacks."""
    available = crm_columns(conn).present("restaurants", RESTAURANT_COLUMNS)
    if len(available) == len(RESTAURANT_COLUMNS):
        return []
    warnings: list[str] = []
    for spec in templates:
        declared = Declared(spec.variables)
        for index, step in enumerate(spec.steps):
            for field in MESSAGE_FIELDS:
                message = getattr(step, field)
                if not message:
                    continue
                used: dict[str, None] = {}
                for name in compile_message(message, declared.names).variables:
                    if name in CATALOGUE:
                        used[name] = None
                    else:
                        used.update(dict.fromkeys(depends_on(declared.definitions.get(name))))
                path = f"$.steps[{index}].{field}"
                for variable, column in missing_columns(list(used), available).items():
                    warnings.append(
                        f"{spec.location(path)}: {path}: {{{variable}}} renders empty: the "
                        f"restaurants table has no column {column}"
                    )
    return warnings

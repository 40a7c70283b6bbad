"""Messages and subjects of the tasks a migration writes, rendered as ``apply`` renders them
(spec §5): each step's texts are compiled once, and rendered once per (step, restaurant),
only for steps whose messages use variables; the restaurants' columns are read in one
statement, and only the variables the messages use are computed (unless the organisation
declares variables, which may depend on any of them)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from functools import cached_property
from typing import Any

from ..db.crm_columns import CrmColumns
from ..db.versions import SEQCTL_KEY
from ..pg import Connection, tx
from ..templates.declared import Declared
from ..templates.rendering import (
    CATALOGUE,
    RESTAURANT_COLUMNS,
    CompiledMessage,
    Today,
    compile_message,
    variable_values,
)
from .clock import local_date
from .lookup import Organisation
from .steps import Step


class Renderer:
    """Renders a step's message and subject for a restaurant."""

    def __init__(
        self,
        template_metadata: Mapping[str, Any],
        steps: list[Step],
        timezone: str,
        now: datetime,
    ) -> None:
        entry = template_metadata.get(SEQCTL_KEY)
        variables = entry.get("variables") if isinstance(entry, Mapping) else None
        self.declared = Declared(dict(variables) if isinstance(variables, Mapping) else {})
        names = self.declared.names
        self.messages: dict[str, CompiledMessage | None] = {
            s.step_id: compile_message(s.message, names) if s.message is not None else None
            for s in steps
        }
        self.subjects: dict[str, CompiledMessage | None] = {
            s.step_id: compile_message(s.subject, names)
            if s.subject is not None and s.type == "email"
            else None
            for s in steps
        }
        self.today = Today(local_date(now, timezone), timezone)
        # declared variables may depend on any catalogue variable: then all are computed
        self.used: set[str] | None = None
        if not names:
            self.used = {
                n
                for c in (*self.messages.values(), *self.subjects.values())
                if c is not None
                for n in c.variables
                if n in CATALOGUE
            }
        self.details: dict[str, tuple[dict[str, Any], str | None]] = {}
        self.values: dict[str, Mapping[str, str | None]] = {}
        self.cache: dict[tuple[str, str], tuple[str | None, str | None]] = {}

    def personal(self, step: Step) -> bool:
        """Whether the step's texts differ per restaurant (they use variables)."""
        return step.step_id in self.variable_texts

    @cached_property
    def variable_texts(self) -> dict[str, tuple[CompiledMessage | None, CompiledMessage | None]]:
        """step id -> its message and subject that use variables (None: one that does not)."""
        found = {}
        for step_id, message in self.messages.items():
            subject = self.subjects[step_id]
            pair = (
                message if message is not None and message.variables else None,
                subject if subject is not None and subject.variables else None,
            )
            if pair != (None, None):
                found[step_id] = pair
        return found

    def load(
        self, conn: Connection, organisation: Organisation, ids: Collection[str], crm: CrmColumns
    ) -> None:
        """Read the restaurants the personal texts are rendered for (one statement), only
        the columns their variables read."""
        if not ids:
            return
        wanted = RESTAURANT_COLUMNS
        if self.used is not None:
            wanted = tuple(dict.fromkeys(c for n in self.used for c in CATALOGUE[n].columns))
        available = crm.present("restaurants", wanted)
        columns = "".join(f", r.{c}" for c in available)
        rows = tx(conn).mappings(
            f"SELECT r.id::text AS seqctl_id{columns} FROM restaurants r"
            " WHERE r.id = ANY(CAST(:ids AS uuid[]))"
            " AND r.organisation_id = CAST(:org AS uuid)",
            {"ids": "{" + ",".join(sorted(ids)) + "}", "org": organisation.id},
        )
        self.details = {row["seqctl_id"]: ({c: row[c] for c in available}, None) for row in rows}

    @staticmethod
    def shared(step: Step) -> tuple[str | None, str | None]:
        """The texts of a step whose texts use no variable: (message_rendered,
        subject_line_rendered), as apply writes them."""
        return step.message, step.subject if step.type == "email" else None

    def _values(self, restaurant_id: str) -> Mapping[str, str | None]:
        if restaurant_id not in self.values:
            detail = self.details.get(restaurant_id)
            self.values[restaurant_id] = (
                variable_values(detail[0], today=self.today, declared=self.declared, only=self.used)
                if detail
                else {}
            )
        return self.values[restaurant_id]

    def personal_texts(self, step: Step, restaurant_id: str) -> tuple[str | None, str | None]:
        """(message_rendered, subject_line_rendered) of a step for a restaurant; None for a
        text that uses no variable (then it is ``shared``)."""
        key = (step.step_id, restaurant_id)
        found = self.cache.get(key)
        if found is None:
            message, subject = self.variable_texts.get(step.step_id, (None, None))
            values = self._values(restaurant_id) if message or subject else {}
            found = self.cache[key] = (
                message.render(values) if message is not None else None,
                subject.render(values) if subject is not None else None,
            )
        return found

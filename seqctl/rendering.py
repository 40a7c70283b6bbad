"""Message variables filled in (§5): ``{restaurant_name}`` → the restaurant's name.

An unknown variable is left as written; a known one with no value becomes empty. Rendering
is a single pass, so a value that itself contains ``{…}`` is never expanded again.
A message is compiled once per step and rendered for many restaurants. Tokens are read by
``seqctl.variables.find_variables``, so rendering and ``seqctl validate`` agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from .variables import find_variables, is_known

# variable -> restaurants column
RESTAURANT_COLUMNS: dict[str, str] = {
    "restaurant_name": "name",
    "restaurant_email": "email",
    "restaurant_phone": "phone",
    "restaurant_address": "address",
    "restaurant_website": "website",
    "city": "city",
    "contact_name": "contact_name",
    "contact_email": "contact_email",
    "contact_phone": "contact_phone",
    "cuisine": "cuisine",
}


@dataclass(frozen=True)
class CompiledMessage:
    """A message split into literal text and known variables (unknown ones stay literal)."""

    text: str
    parts: tuple[tuple[bool, str], ...]  # (is_variable, literal text or variable name)

    @property
    def variables(self) -> tuple[str, ...]:
        """The known variables used, in order of first use."""
        return tuple(dict.fromkeys(name for is_var, name in self.parts if is_var))

    def render(self, values: Mapping[str, str | None]) -> str:
        if not self.variables:
            return self.text
        return "".join((values.get(part) or "") if is_var else part for is_var, part in self.parts)

    def empty_variables(self, values: Mapping[str, str | None]) -> list[str]:
        """The known variables of this message that would render empty."""
        return [name for name in self.variables if not values.get(name)]


def compile_message(message: str) -> CompiledMessage:
    parts: list[tuple[bool, str]] = []
    position = 0
    for variable in find_variables(message):
        if not is_known(variable.name):
            continue
        if variable.start > position:
            parts.append((False, message[position : variable.start]))
        parts.append((True, variable.name))
        position = variable.end
    if position < len(message):
        parts.append((False, message[position:]))
    return CompiledMessage(message, tuple(parts))


def render(message: str, values: Mapping[str, str | None]) -> str:
    """``message`` with its known variables replaced by ``values`` (missing → empty)."""
    return compile_message(message).render(values)


def variable_values(
    restaurant: Mapping[str, Any], *, organisation_name: str | None, today: date
) -> dict[str, str | None]:
    """The value of every variable for one restaurant (a row with the restaurants columns)."""
    values: dict[str, str | None] = {
        variable: _text(restaurant.get(column)) for variable, column in RESTAURANT_COLUMNS.items()
    }
    contact = values["contact_name"]
    values["first_name"] = contact.split()[0] if contact and contact.split() else None
    values["organisation_name"] = organisation_name or None
    values["today"] = today.isoformat()
    values["current_year"] = str(today.year)
    return values


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):  # text[] (restaurants.cuisine): "Burgers, American"
        value = ", ".join(str(item).strip() for item in value if str(item).strip())
    result = str(value).strip()
    return result or None

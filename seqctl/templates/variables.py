"""Message variables (§5 of the contract): the catalogue's names and the ``{name}`` tokenizer.

A variable is a ``{name}`` token whose name is an identifier (letters, digits, ``_``, not
starting with a digit). Anything else in braces (``{ name }``, ``{1}``, ``{}``) is plain
text. Rendering (``seqctl.templates.rendering``) and validation (``seqctl.templates.validate``)
both read tokens through :func:`find_variables`, so they agree on what a variable is.
Variables declared in the repository (``seqctl.templates.declared``) are known too where they
are passed in.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from typing import NamedTuple

from ..suggest import close_matches

# The application's own catalogue (§5), in the order of the contract; each is filled in
# from the restaurant's columns as the application formats it (``seqctl.templates.rendering``).
KNOWN_VARIABLES: tuple[str, ...] = (
    "restaurant_name",
    "restaurant_email",
    "restaurant_phone",
    "restaurant_address",
    "restaurant_website",
    "city",
    "contact_name",
    "first_name",
    "contact_email",
    "contact_phone",
    "contact_role",
    "organisation_name",
    "cuisine",
    "opening_hours_text",
    "lead_stage",
    "lead_warmth",
    "lead_status",
    "icp_rating",
    "demo_store_url",
    "demo_store_built",
    "subdomain",
    "ubereats_url",
    "doordash_url",
    "instagram_url",
    "facebook_url",
    "number_of_venues",
    "point_of_sale",
    "online_ordering_platform",
    "online_ordering_handles_delivery",
    "self_delivery",
    "weekly_uber_sales_volume",
    "uber_aov",
    "uber_markup",
    "uber_profitability",
    "uber_profitability_description",
    "current_marketing_description",
    "qualification_details",
    "painpoints",
    "core_selling_points",
    "features_to_highlight",
    "possible_objections",
    "meeting_link",
    "website_type",
    "last_contacted_day",
    "today",
    "current_date",
    "current_year",
)

VARIABLE_TOKEN = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

# Braces around an identifier with blanks inside: probably a variable written wrongly.
_SPACED_TOKEN = re.compile(
    r"\{[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]*\}|\{([A-Za-z_][A-Za-z0-9_]*)[ \t]+\}"
)


class Variable(NamedTuple):
    """One ``{name}`` token: the name and its span in the text (``text[start:end]``)."""

    name: str
    start: int
    end: int


def find_variables(text: str) -> list[Variable]:
    """Every ``{name}`` token of ``text``, in order, known or not."""
    return [Variable(m.group(1), m.start(), m.end()) for m in VARIABLE_TOKEN.finditer(text)]


def is_known(name: str, declared: Collection[str] = ()) -> bool:
    """Whether ``name`` is in the catalogue or among the ``declared`` variables."""
    return name in _KNOWN or name in declared


def unknown_variables(text: str, declared: Collection[str] = ()) -> list[str]:
    """The names of the tokens of ``text`` that are neither in :data:`KNOWN_VARIABLES` nor
    ``declared``, in order."""
    return [name for name in VARIABLE_TOKEN.findall(text) if not is_known(name, declared)]


def suggest_variable(name: str, declared: Collection[str] = ()) -> str | None:
    """The known (or declared) variable ``name`` was probably meant to be, if one is close."""
    lowered = name.lower()
    if is_known(lowered, declared):
        return lowered
    matches = close_matches(lowered, [*KNOWN_VARIABLES, *sorted(declared)], most=1)
    return matches[0] if matches else None


def spaced_tokens(text: str) -> Iterator[tuple[str, str]]:
    """``(written, name)`` for tokens like ``{ first_name }``, which are not variables."""
    for match in _SPACED_TOKEN.finditer(text):
        yield match.group(0), match.group(1) or match.group(2)


_KNOWN = frozenset(KNOWN_VARIABLES)

"""Message variables (§5 of the contract): the known names and the ``{name}`` tokenizer.

A variable is a ``{name}`` token whose name is an identifier (letters, digits, ``_``, not
starting with a digit). Anything else in braces (``{ name }``, ``{1}``, ``{}``) is plain
text. Rendering (``seqctl.rendering``) and validation (``seqctl.validate``) both read
tokens through :func:`find_variables`, so they agree on what a variable is.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import NamedTuple

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
    "cuisine",
    "organisation_name",
    "today",
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


def is_known(name: str) -> bool:
    return name in _KNOWN


def unknown_variables(text: str) -> list[str]:
    """The names of the tokens of ``text`` that are not :data:`KNOWN_VARIABLES`, in order."""
    return [name for name in VARIABLE_TOKEN.findall(text) if name not in _KNOWN]


def suggest_variable(name: str) -> str | None:
    """The known variable ``name`` was probably meant to be, if one is close."""
    lowered = name.lower()
    if lowered in _KNOWN:
        return lowered
    matches = difflib.get_close_matches(lowered, KNOWN_VARIABLES, n=1, cutoff=0.6)
    return matches[0] if matches else None


def spaced_tokens(text: str) -> Iterator[tuple[str, str]]:
    """``(written, name)`` for tokens like ``{ first_name }``, which are not variables."""
    for match in _SPACED_TOKEN.finditer(text):
        yield match.group(0), match.group(1) or match.group(2)


_KNOWN = frozenset(KNOWN_VARIABLES)

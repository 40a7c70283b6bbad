"""UUIDs as people type them: one parser for every id a command takes.

Accepted, case-insensitively: ``0b9c6a4e-…`` (hyphenated), 32 hex digits, either in braces,
and ``urn:uuid:…``. Every lookup uses :func:`parse_uuid`, so a spelling that finds a row on
one command finds it on all of them, and no spelling reaches the database unparsed.
"""

from __future__ import annotations

import re

_UUID = re.compile(
    r"(?:urn:uuid:)?(\{)?([0-9a-f]{8})(-?)([0-9a-f]{4})\3([0-9a-f]{4})\3([0-9a-f]{4})\3"
    r"([0-9a-f]{12})(?(1)\})",
    re.IGNORECASE,
)


def parse_uuid(value: str) -> str | None:
    """The canonical (lower-case, hyphenated) form of a UUID spelling, or None."""
    match = _UUID.fullmatch(value.strip())
    if match is None:
        return None
    return "-".join(match.group(i) for i in (2, 4, 5, 6, 7)).lower()


def is_uuid(value: str) -> bool:
    return parse_uuid(value) is not None

"""Short ids (spec §8): a unique prefix of at least 6 hexadecimal digits finds a row, as git
finds a commit by a short hash.

:func:`expand_ids` is the one function every lookup of instances, tasks, templates,
restaurants and users goes through. Full UUID spellings (:func:`seqctl.ids.parse_uuid`) are
taken as they are; a prefix is looked up in the organisation only, as a range of the uuid
index (``id BETWEEN lower AND upper``), in one statement however many are given. An
ambiguous prefix is a usage error listing the candidates; a prefix that matches nothing is
"not found".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import NotFound, UsageError
from .ids import parse_uuid

if TYPE_CHECKING:  # no database driver at import: offline commands start fast
    from .pg import Connection

MIN_PREFIX = 6
SHORT = 8  # digits shown in text output

_HEX = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True)
class Kind:
    table: str
    label: str  # SQL expression naming a row for a person
    org_column: str = "organisation_id"


KINDS: dict[str, Kind] = {
    "instance": Kind("sequence_instances", "name"),
    "task": Kind("tasks", "name"),
    "template": Kind("sequence_templates", "name"),
    "restaurant": Kind("restaurants", "name"),
    "user": Kind("profiles", "coalesce(email, '')"),
}


def short(value: object) -> str:
    """The 8-digit short form of a UUID, for text output."""
    return str(value).replace("-", "")[:SHORT] if value is not None else ""


def parse_prefix(value: str) -> tuple[str, str] | None:
    """The (lowest, highest) UUIDs starting with a prefix of 6–31 hex digits (dashes
    optional, any case), or None when ``value`` is not such a prefix."""
    digits = value.strip().lower().replace("-", "")
    if not MIN_PREFIX <= len(digits) < 32 or not _HEX.fullmatch(digits):
        return None
    low, high = digits.ljust(32, "0"), digits.ljust(32, "f")
    return _dashed(low), _dashed(high)


def _dashed(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"


def is_id_like(value: str) -> bool:
    """A full UUID spelling or a short-id prefix."""
    return parse_uuid(value) is not None or parse_prefix(value) is not None


def expand_ids(
    conn: Connection, kind: str, org_id: str, refs: Sequence[str], *, missing_ok: bool = False
) -> dict[str, str]:
    """Each id-like reference mapped to the full UUID it names in the organisation.

    Full UUIDs are returned as given (canonical; whether the row exists is the caller's
    question). Prefixes matching several rows raise a usage error listing them; prefixes
    matching none raise "not found" unless ``missing_ok`` (they are then left out).
    """
    from .pg import tx

    spec = KINDS[kind]
    found: dict[str, str] = {}
    prefixes: dict[str, tuple[str, str]] = {}
    for ref in refs:
        canonical = parse_uuid(ref)
        if canonical is not None:
            found[ref] = canonical
        elif (bounds := parse_prefix(ref)) is not None:
            prefixes[ref] = bounds
    if not prefixes:
        return found
    refs_list = list(prefixes)
    rows = tx(conn).rows(
        "SELECT p.ref, m.id::text AS id, m.label FROM unnest(CAST(:refs AS text[]),"
        " CAST(:lows AS uuid[]), CAST(:highs AS uuid[])) AS p(ref, low, high)"
        f" CROSS JOIN LATERAL (SELECT t.id, {spec.label} AS label FROM {spec.table} t"
        f" WHERE t.id BETWEEN p.low AND p.high AND t.{spec.org_column} = CAST(:org AS uuid)"
        " ORDER BY t.id LIMIT 11) AS m",
        {
            "refs": refs_list,
            "lows": [prefixes[r][0] for r in refs_list],
            "highs": [prefixes[r][1] for r in refs_list],
            "org": org_id,
        },
    )
    candidates: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        candidates.setdefault(row.ref, []).append((row.id, row.label))
    for ref in refs_list:
        matches = candidates.get(ref, [])
        if len(matches) == 1:
            found[ref] = matches[0][0]
        elif len(matches) > 1:
            listing = "; ".join(f"{i} ({label})" for i, label in matches[:10])
            more = ", …" if len(matches) > 10 else ""
            raise UsageError(
                f"the {kind} id prefix {ref!r} is ambiguous: {listing}{more}",
                hint=f"give more digits of the {kind} id",
            )
        elif not missing_ok:
            raise NotFound(
                f"no {kind} with an id starting {ref!r} in the organisation",
                hint=_LISTS.get(kind, "check the id"),
            )
    return found


_LISTS = {
    "instance": "`seqctl status` lists the organisation's instances with their short ids",
    "task": "`seqctl status INSTANCE` lists an instance's tasks with their short ids",
    "template": "`seqctl templates` lists the organisation's templates",
    "restaurant": "`seqctl restaurants` lists the organisation's restaurants",
    "user": "`seqctl users` lists the organisation's users",
}

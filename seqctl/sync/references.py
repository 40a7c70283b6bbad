"""Task and message template references of steps: a UUID or an exact name, within the
organisation. An unknown or ambiguous one is a problem at the step's file:line:col."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..ids import parse_uuid
from ..suggest import KEY_CUTOFF, did_you_mean
from ..templates.spec import Location
from .actual import Reference

if TYPE_CHECKING:
    from .diff import Problems

# step columns shown under their file names, with names instead of UUIDs
REFERENCE_FIELDS = {"task_template_id": "task_template", "message_template_id": "message_template"}


class References:
    """Task or message templates of the organisation, found by UUID or exact name."""

    def __init__(self, what: str, items: Sequence[Reference]) -> None:
        self.what = what
        self.by_id = {item.id: item for item in items}
        self.by_name: dict[str, list[Reference]] = defaultdict(list)
        for item in items:
            self.by_name[item.name].append(item)

    def resolve(self, ref: str, location: Location, problems: Problems) -> str | None:
        as_id = parse_uuid(ref)
        if as_id is not None and as_id in self.by_id:
            return as_id
        found = self.by_name.get(ref, [])
        # an active template wins over inactive ones of the same name: only active ones
        # make a name ambiguous (inactive ones count only when no active one has the name)
        found = [item for item in found if item.is_active] or found
        if len(found) == 1:
            return found[0].id
        if found:
            problems.add(
                location,
                f"{len(found)} {self.what}s are named {ref!r} ({', '.join(r.id for r in found)})",
                f"refer to the {self.what} by its UUID",
            )
        elif as_id is not None:
            problems.add(location, f"no {self.what} with id {as_id} in the organisation")
        else:
            problems.add(
                location,
                f"unknown {self.what} {ref!r}",
                did_you_mean(
                    ref,
                    self.by_name,
                    f"names must match a {self.what} of the organisation exactly",
                    cutoff=KEY_CUTOFF,
                ),
            )
        return None

    def display(self, ref_id: str | None) -> str | None:
        if ref_id is None:
            return None
        found = self.by_id.get(ref_id)
        return found.name if found else ref_id

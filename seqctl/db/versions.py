"""Template versions (spec §9): ``metadata.seqctl.version`` on templates, the version an
instance started from (``metadata.seqctl.template_version``) and who runs an older one.

A template gets version 1 when seqctl creates it (or first sees it: a template made in the
web app, or managed before versions existed, counts as version 1) and one more on every
sync that changes its content (name, description, tags, metadata, variables, steps).
A sync that changes nothing leaves the version alone, so sync stays idempotent.
An instance started before versions existed has no recorded version: it is taken to run
version 1, the content seqctl first saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..pg import Connection, tx

SEQCTL_KEY = "seqctl"
FIRST_VERSION = 1

# the version of a template row / an instance row, in SQL (NULL and junk read as 1)
TEMPLATE_VERSION_SQL = (
    "COALESCE(CASE WHEN jsonb_typeof({t}.metadata -> 'seqctl' -> 'version') = 'number'"
    " THEN ({t}.metadata -> 'seqctl' ->> 'version')::int END, 1)"
)
INSTANCE_VERSION_SQL = (
    "COALESCE(CASE WHEN jsonb_typeof({i}.metadata -> 'seqctl' -> 'template_version') = 'number'"
    " THEN ({i}.metadata -> 'seqctl' ->> 'template_version')::int END, 1)"
)


def template_version_sql(alias: str) -> str:
    return TEMPLATE_VERSION_SQL.format(t=alias)


def instance_version_sql(alias: str) -> str:
    return INSTANCE_VERSION_SQL.format(i=alias)


def version_of(metadata: Mapping[str, Any] | None) -> int:
    """A template's version from its metadata (1 when it has none yet)."""
    entry = (metadata or {}).get(SEQCTL_KEY)
    found = entry.get("version") if isinstance(entry, Mapping) else None
    return found if isinstance(found, int) and not isinstance(found, bool) else FIRST_VERSION


def recorded_version(metadata: Mapping[str, Any] | None) -> int | None:
    """An instance's recorded template version, or None when it was started without one."""
    entry = (metadata or {}).get(SEQCTL_KEY)
    found = entry.get("template_version") if isinstance(entry, Mapping) else None
    return found if isinstance(found, int) and not isinstance(found, bool) else None


def next_version(stored: Mapping[str, Any] | None, content_changes: bool) -> int:
    """The version a sync writes: the stored one (1 if none), plus one if content changes."""
    current = version_of({SEQCTL_KEY: stored} if stored is not None else None)
    return current + 1 if content_changes else current


@dataclass(frozen=True)
class OutdatedCount:
    """Running instances of one template and how many of them run an older version."""

    template_id: str
    template_version: int
    running: int
    outdated: int


OUTDATED_COUNTS = f"""
SELECT t.id::text AS template_id, {template_version_sql("t")} AS version,
       count(i.id) AS running,
       count(i.id) FILTER (WHERE {instance_version_sql("i")} < {template_version_sql("t")})
         AS outdated
FROM sequence_templates t
LEFT JOIN sequence_instances i
  ON i.sequence_template_id = t.id AND i.status IN ('active', 'paused')
WHERE t.organisation_id = CAST(:org AS uuid)
GROUP BY t.id
"""


def outdated_instance_counts(conn: Connection, org: str) -> dict[str, OutdatedCount]:
    """template id -> its version, running instances and those on an older version (one
    statement, for `seqctl templates` and `plan`)."""
    return {
        r.template_id: OutdatedCount(r.template_id, int(r.version), int(r.running), int(r.outdated))
        for r in tx(conn).rows(OUTDATED_COUNTS, {"org": org})
    }

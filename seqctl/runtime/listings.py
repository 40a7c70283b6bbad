"""Lookups for people (spec §8): the organisation's restaurants, templates and users, each
in one set-based statement, with what a person needs to act on them (short ids, running
sequences)."""

from __future__ import annotations

from dataclasses import dataclass

from ..db.versions import instance_version_sql, template_version_sql
from ..pg import Connection, tx
from ..short_ids import parse_prefix
from ..suggest import fold

# lower-case accented Latin letters and apostrophes -> plain (SQL translate(), as fold());
# the apostrophes at the end of _ACCENTED have no counterpart in _PLAIN: they are dropped
_ACCENTED = "àáâãäåāăąçćčďèéêëēėęěìíîïīįłñńňòóôõöøōőřśšşťùúûüūůűųýÿžźż'’`"
_PLAIN = "aaaaaaaaacccdeeeeeeeeiiiiiilnnnoooooooorssstuuuuuuuuyyzzz"
_FOLD_SQL = "translate(lower({column}), :accented, :plain)"
MAX_ROWS = 500


@dataclass(frozen=True)
class RestaurantRow:
    id: str
    name: str
    city: str | None
    running: int  # active or paused instances


@dataclass(frozen=True)
class TemplateRow:
    id: str
    key: str | None
    name: str
    managed: bool
    is_active: bool
    steps: int
    running: int
    version: int | None
    outdated: int = 0  # running instances on an older version of the template (spec §9)


@dataclass(frozen=True)
class UserRow:
    id: str
    email: str | None
    name: str | None
    assigned: int  # running instances assigned to the user


def _fold_params() -> dict[str, str]:
    return {"accented": _ACCENTED, "plain": _PLAIN}


def list_restaurants(
    conn: Connection, org_id: str, search: str | None = None, *, limit: int = MAX_ROWS
) -> list[RestaurantRow]:
    """The organisation's restaurants, by name; ``search`` matches part of the name or city
    (case, accents and apostrophes ignored) or the start of the id."""
    params: dict[str, object] = {"org": org_id, "limit": limit, **_fold_params()}
    where = "r.organisation_id = CAST(:org AS uuid)"
    if search:
        params["pattern"] = "%" + _like(fold(search)) + "%"
        name, city = _FOLD_SQL.format(column="r.name"), _FOLD_SQL.format(column="r.city")
        alternatives = [f"{name} LIKE :pattern", f"{city} LIKE :pattern"]
        bounds = parse_prefix(search)
        if bounds is not None:
            params["low"], params["high"] = bounds
            alternatives.append("r.id BETWEEN CAST(:low AS uuid) AND CAST(:high AS uuid)")
        where += " AND (" + " OR ".join(alternatives) + ")"
    city_column = "r.city" if _has_city(conn) else "NULL::text"
    rows = tx(conn).rows(
        f"SELECT r.id::text AS id, r.name, {city_column} AS city,"
        " (SELECT count(*) FROM sequence_instances si WHERE si.restaurant_id = r.id"
        "  AND si.status IN ('active', 'paused')) AS running"
        f" FROM restaurants r WHERE {where} ORDER BY r.name, r.id LIMIT :limit",
        params,
    )
    return [RestaurantRow(r.id, r.name, r.city, int(r.running)) for r in rows]


def _has_city(conn: Connection) -> bool:
    from ..db.crm_columns import crm_columns

    return bool(crm_columns(conn).present("restaurants", ("city",)))


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")


def list_templates(conn: Connection, org_id: str) -> list[TemplateRow]:
    """The organisation's sequence templates with their steps and running instances."""
    rows = tx(conn).rows(
        "SELECT st.id::text AS id, st.metadata -> 'seqctl' ->> 'key' AS key, st.name,"
        " st.is_active,"
        " (SELECT count(*) FROM sequence_steps ss WHERE ss.sequence_template_id = st.id)"
        "  AS steps,"
        " run.running, run.outdated,"
        " CASE WHEN st.metadata -> 'seqctl' ->> 'version' ~ '^[0-9]+$'"
        "  THEN (st.metadata -> 'seqctl' ->> 'version')::int END AS version"
        " FROM sequence_templates st CROSS JOIN LATERAL (SELECT count(*) AS running,"
        "  count(*) FILTER (WHERE "
        + instance_version_sql("si")
        + " < "
        + template_version_sql("st")
        + ") AS outdated"
        "  FROM sequence_instances si WHERE si.sequence_template_id = st.id"
        "  AND si.status IN ('active', 'paused')) run"
        " WHERE st.organisation_id = CAST(:org AS uuid)"
        " ORDER BY st.name, st.id",
        {"org": org_id},
    )
    return [
        TemplateRow(
            r.id,
            r.key,
            r.name,
            r.key is not None,
            bool(r.is_active),
            int(r.steps),
            int(r.running),
            r.version,
            int(r.outdated),
        )
        for r in rows
    ]


def list_users(conn: Connection, org_id: str) -> list[UserRow]:
    """The organisation's members (profiles), by email."""
    from ..db.crm_columns import crm_columns

    has_name = bool(crm_columns(conn).present("profiles", ("name",)))
    rows = tx(conn).rows(
        "SELECT p.id::text AS id, p.email, "
        + ("p.name" if has_name else "NULL::text")
        + " AS name, (SELECT count(*) FROM sequence_instances si"
        " WHERE si.assigned_to = p.id AND si.status IN ('active', 'paused')) AS assigned"
        " FROM profiles p WHERE p.organisation_id = CAST(:org AS uuid)"
        " ORDER BY p.email NULLS LAST, p.id",
        {"org": org_id},
    )
    return [UserRow(r.id, r.email, r.name, int(r.assigned)) for r in rows]

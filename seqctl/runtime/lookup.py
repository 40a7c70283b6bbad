"""Finding rows by what a person types: organisations, users, templates, restaurants, instances
and tasks.

Organisations: UUID or exact name. Users: UUID, exact name or email. Templates: key
(``metadata.seqctl.key``), exact name or UUID. Restaurants: exact name or UUID. Instances
and tasks: UUID only. A row of another organisation is "not found".
Restaurants are resolved in a constant number of statements, however many are given.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from ..db.connection import switch_to_user
from ..db.crm_columns import crm_columns
from ..errors import InvalidInput, NotFound, Refused, UsageError
from ..ids import is_uuid, parse_uuid
from ..pg import Connection, named, tx
from ..short_ids import expand_ids, is_id_like, parse_prefix
from ..suggest import did_you_mean
from ..templates.spec import Organisation

__all__ = [
    "RESTAURANT_FIELDS",
    "act_as_user",
    "Organisation",
    "RestaurantMatch",
    "Template",
    "is_uuid",
    "require_member",
    "require_uuids",
    "resolve_organisation",
    "resolve_restaurants",
    "resolve_template",
    "resolve_user",
    "restaurant_ids",
    "user_organisation",
]

RESTAURANT_FIELDS = (
    "id",
    "name",
    "email",
    "phone",
    "address",
    "city",
    "website",
    "cuisine",
    "contact_name",
    "contact_email",
    "contact_phone",
)


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    key: str | None
    is_active: bool


@dataclass(frozen=True)
class RestaurantMatch:
    """What one reference given by the user turned out to be."""

    ref: str
    row: dict[str, Any] | None = None  # the restaurants columns of RESTAURANT_FIELDS
    error: str | None = None  # restaurant_not_found | not_in_organisation | ambiguous_restaurant
    message: str | None = None


_TEMPLATE_SQL = (
    "SELECT id, name, metadata -> 'seqctl' ->> 'key' AS key, is_active FROM sequence_templates"
)


def resolve_template(conn: Connection, org_id: str, ref: str) -> Template:
    """The organisation's template with this UUID, key or exact name (in that order)."""
    as_id = parse_uuid(ref)
    rows = tx(conn).rows(
        f"{_TEMPLATE_SQL} WHERE organisation_id = CAST(:org AS uuid) AND ("
        "metadata -> 'seqctl' ->> 'key' = :ref OR name = :ref OR id = CAST(:id AS uuid))"
        " ORDER BY created_at",
        {"org": org_id, "ref": ref, "id": as_id},
    )
    for matches in (
        [r for r in rows if str(r.id) == as_id],
        [r for r in rows if r.key == ref],
        [r for r in rows if r.name == ref],
    ):
        if len(matches) == 1:
            r = matches[0]
            return Template(str(r.id), r.name, r.key, bool(r.is_active))
        if len(matches) > 1:
            ids = ", ".join(str(r.id) for r in matches)
            raise UsageError(
                f"{len(matches)} templates of the organisation match {ref!r} ({ids})",
                hint="pass the template's UUID with --template",
            )
    if as_id is None and (prefixed := expand_ids(conn, "template", org_id, [ref], missing_ok=True)):
        r = tx(conn).one(f"{_TEMPLATE_SQL} WHERE id = CAST(:id AS uuid)", {"id": prefixed[ref]})
        return Template(str(r.id), r.name, r.key, bool(r.is_active))
    raise NotFound(
        f"no sequence template {ref!r} in the organisation",
        hint=did_you_mean(
            ref,
            tx(conn).scalars(
                "SELECT name FROM sequence_templates WHERE organisation_id = CAST(:org AS uuid)",
                {"org": org_id},
            ),
            "give the template's key, exact name or UUID (see `seqctl export` or the web app)",
        ),
    )


def resolve_restaurants(
    conn: Connection, org_id: str, refs: Sequence[str]
) -> list[RestaurantMatch]:
    """One match per distinct reference, in the order given (at most three statements)."""
    ordered = list(dict.fromkeys(r.strip() for r in refs if r.strip()))
    ids = [canonical for r in ordered if (canonical := parse_uuid(r)) is not None]
    names = [r for r in ordered if not is_uuid(r)]
    # a team's restaurants table may lack some of the columns variables read: NULL for those
    present = set(crm_columns(conn).present("restaurants", RESTAURANT_FIELDS))
    columns = ", ".join(f"r.{c}" if c in present else f"NULL AS {c}" for c in RESTAURANT_FIELDS)
    by_id: dict[str, dict[str, Any]] = {}
    by_name: dict[str, list[dict[str, Any]]] = {}
    if ids:
        query = (
            f"SELECT {columns} FROM restaurants r "
            "WHERE r.id = ANY(CAST(:ids AS uuid[])) AND r.organisation_id = CAST(:org AS uuid)"
        )
        for row in tx(conn).mappings(query, {"ids": ids, "org": org_id}):
            by_id[str(row["id"])] = _plain(row)
    if names:
        query = (
            f"SELECT {columns} FROM unnest(CAST(:names AS text[])) AS n(name) "
            "JOIN restaurants r ON r.name = n.name AND r.organisation_id = CAST(:org AS uuid)"
            " ORDER BY r.id"
        )
        for row in tx(conn).mappings(query, {"names": names, "org": org_id}):
            by_name.setdefault(row["name"], []).append(_plain(row))
    matches: list[RestaurantMatch] = []
    for ref in ordered:
        as_id = parse_uuid(ref)
        found = [by_id[as_id]] if as_id in by_id else by_name.get(ref, [])
        if len(found) == 1:
            matches.append(RestaurantMatch(ref, row=found[0]))
        elif len(found) > 1:
            listing = ", ".join(str(r["id"]) for r in found)
            matches.append(
                RestaurantMatch(
                    ref,
                    error="ambiguous_restaurant",
                    message=f"{len(found)} restaurants are named {ref!r} ({listing}); give a UUID",
                )
            )
        else:
            matches.append(RestaurantMatch(ref))
    matches = _by_short_id(conn, org_id, matches, columns)
    missing = [m.ref for m in matches if m.row is None and m.error is None]
    elsewhere = _in_other_organisations(conn, org_id, missing) if missing else set()
    hints = _restaurant_hints(conn, org_id, [m for m in missing if m not in elsewhere])
    return [
        m
        if m.row is not None or m.error is not None
        else RestaurantMatch(
            m.ref,
            error="not_in_organisation",
            message=f"restaurant {m.ref!r} belongs to another organisation",
        )
        if m.ref in elsewhere
        else RestaurantMatch(
            m.ref,
            error="restaurant_not_found",
            message=f"no restaurant {m.ref!r}" + (f" ({hints[m.ref]})" if m.ref in hints else ""),
        )
        for m in matches
    ]


def _restaurant_hints(conn: Connection, org_id: str, refs: list[str]) -> dict[str, str]:
    """ "did you mean …?" for restaurant names not found (case, accents, apostrophes ignored)."""
    names = [r for r in refs if not is_id_like(r)]
    if not names:
        return {}
    known = tx(conn).scalars(
        "SELECT name FROM restaurants WHERE organisation_id = CAST(:org AS uuid) LIMIT 20000",
        {"org": org_id},
    )
    hints = {ref: did_you_mean(ref, known, "") for ref in names}
    return {ref: hint for ref, hint in hints.items() if hint}


def _by_short_id(
    conn: Connection, org_id: str, matches: list[RestaurantMatch], columns: str
) -> list[RestaurantMatch]:
    """Restaurants not found by name or UUID, found by a short id (a unique id prefix)."""
    refs = [m.ref for m in matches if m.row is None and m.error is None and not is_uuid(m.ref)]
    expanded = expand_ids(conn, "restaurant", org_id, refs, missing_ok=True) if refs else {}
    if not expanded:
        return matches
    query = f"SELECT {columns} FROM restaurants r WHERE r.id = ANY(CAST(:ids AS uuid[]))"
    rows = {
        str(row["id"]): _plain(row)
        for row in tx(conn).mappings(query, {"ids": list(expanded.values())})
    }
    return [
        RestaurantMatch(m.ref, row=rows[expanded[m.ref]])
        if m.ref in expanded and expanded[m.ref] in rows
        else m
        for m in matches
    ]


def _in_other_organisations(conn: Connection, org_id: str, refs: list[str]) -> set[str]:
    ids = [canonical for r in refs if (canonical := parse_uuid(r)) is not None]
    names = [r for r in refs if not is_uuid(r)]
    query = (
        "SELECT r.id::text AS ref FROM restaurants r WHERE r.id = ANY(CAST(:ids AS uuid[])) "
        "AND r.organisation_id <> CAST(:org AS uuid) "
        "UNION SELECT r.name FROM restaurants r WHERE r.name = ANY(CAST(:names AS text[])) "
        "AND r.organisation_id <> CAST(:org AS uuid)"
    )
    found = set(tx(conn).scalars(query, {"ids": ids, "names": names, "org": org_id}))
    return {r for r in refs if r in found or parse_uuid(r) in found}


def _plain(row: Any) -> dict[str, Any]:
    return {k: (str(v) if k == "id" else v) for k, v in dict(row).items()}


def require_uuids(
    values: Iterable[str],
    what: str,
    *,
    conn: Connection | None = None,
    org_id: str | None = None,
) -> list[str]:
    """The values as lower-case UUIDs, de-duplicated in order; a usage error names bad ones.

    With ``conn`` and ``org_id``, short ids (a prefix of at least 6 hex digits) are accepted
    too and expanded within the organisation (:func:`seqctl.short_ids.expand_ids`).
    """
    given = list(dict.fromkeys(v.strip() for v in values))
    prefixes = conn is not None and org_id is not None
    bad = [v for v in given if not (is_id_like(v) if prefixes else is_uuid(v))]
    if bad:
        raise UsageError(
            f"not a {what} id: {', '.join(repr(b) for b in bad)}",
            hint=f"{what}s are given by UUID or a unique prefix of at least 6 hex digits "
            "(see `seqctl status`)",
        )
    if not given:
        raise UsageError(f"no {what} given")
    if conn is not None and org_id is not None:
        expanded = expand_ids(conn, what, org_id, given)
        return list(dict.fromkeys(expanded[v] for v in given))
    return list(dict.fromkeys(str(parse_uuid(v)) for v in given))


def restaurant_ids(conn: Connection, org_id: str, ref: str) -> list[str]:
    """Ids of the organisation's restaurants matching one reference (for filters)."""
    match = resolve_restaurants(conn, org_id, [ref])[0]
    if match.row is not None:
        return [str(match.row["id"])]
    if match.error == "ambiguous_restaurant":
        rows = tx(conn).scalars(
            "SELECT id FROM restaurants WHERE organisation_id = CAST(:org AS uuid)"
            " AND name = :name",
            {"org": org_id, "name": ref},
        )
        return [str(r) for r in rows]
    raise NotFound(
        match.message or f"no restaurant {ref!r}",
        hint="give the restaurant's exact name, UUID or short id "
        "(`seqctl restaurants SEARCH` finds it)",
    )


def resolve_organisation(conn: Connection, ref: str | None) -> Organisation:
    """The organisation named by ``ref`` (UUID or exact name); with no ref, the only one."""
    db = tx(conn)
    if ref is None:
        rows = db.rows("SELECT id, name FROM organisations ORDER BY name LIMIT 11")
        if len(rows) == 1:
            return Organisation(str(rows[0].id), rows[0].name)
        if not rows:
            raise NotFound(
                "the database has no organisation",
                hint="create one in the CRM, or load demo data with `seqctl demo`",
            )
        listing = ", ".join(f"{r.name!r}" for r in rows[:10]) + (", …" if len(rows) > 10 else "")
        raise UsageError(
            f"the database has several organisations ({listing}); say which one",
            hint="pass --org NAME|UUID or set SEQCTL_ORG",
        )
    if is_uuid(ref):
        row = db.first(
            "SELECT id, name FROM organisations WHERE id = CAST(:id AS uuid)",
            {"id": parse_uuid(ref)},
        )
        if row is not None:
            return Organisation(str(row.id), row.name)
        raise NotFound(f"no organisation with id {ref}", hint="check --org or SEQCTL_ORG")
    rows = db.rows("SELECT id, name FROM organisations WHERE name = :name", {"name": ref})
    if len(rows) == 1:
        return Organisation(str(rows[0].id), rows[0].name)
    if len(rows) > 1:
        ids = ", ".join(str(r.id) for r in rows)
        raise UsageError(
            f"{len(rows)} organisations are named {ref!r} ({ids})",
            hint="pass the organisation's UUID with --org",
        )
    raise NotFound(
        f"no organisation named {ref!r}",
        hint=did_you_mean(
            ref,
            db.scalars("SELECT name FROM organisations"),
            "names must match exactly; pass the organisation's UUID or exact name with --org",
        ),
    )


def resolve_user(conn: Connection, ref: str, *, org_id: str | None = None) -> str:
    """The id of the one user with this UUID or email (case-insensitive).

    With ``org_id``, a short id (a unique prefix of at least 6 hex digits) of one of the
    organisation's users is accepted too.

    Profiles and ``auth.users`` are both searched: under row level security (``--as-user``)
    only profiles may be readable, as on Supabase. An email that matches several users
    (``sam@…`` and ``Sam@…``) is refused, listing them: seqctl never picks one at random.
    """
    db = tx(conn)
    if org_id is not None and not is_uuid(ref) and parse_prefix(ref) is not None:
        expanded = expand_ids(conn, "user", org_id, [ref], missing_ok=True)
        if ref in expanded:
            return expanded[ref]
    found: dict[str, str | None] = {}  # user id -> email
    for table in ("profiles", "auth.users"):
        if table == "auth.users" and not db.scalar(
            "SELECT has_table_privilege('auth.users', 'SELECT')"
        ):
            break
        if is_uuid(ref):
            condition, value = "id = CAST(:value AS uuid)", parse_uuid(ref)
        else:
            pattern = ref.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
            condition, value = "email ILIKE :value", pattern
        query = sql.SQL("SELECT id, email FROM {} WHERE {} ORDER BY id LIMIT 11").format(
            sql.Identifier(*table.split(".")), sql.SQL(named(condition))
        )
        for row in db.rows(query, {"value": value}):
            found.setdefault(str(row.id), row.email)
    if len(found) == 1:
        return next(iter(found))
    if found:
        listing = ", ".join(f"{email} ({user_id})" for user_id, email in list(found.items())[:10])
        raise UsageError(
            f"{len(found)} users match {ref!r} (emails match case-insensitively): {listing}"
            + (", …" if len(found) > 10 else ""),
            hint="give the user's UUID instead of the email",
        )
    raise NotFound(f"no user {ref!r}", hint="give the user's email or UUID (auth.users)")


def require_member(
    conn: Connection,
    user_id: str,
    organisation: Organisation,
    what: str,
    *,
    acting: bool = False,
) -> None:
    """Refuse a user (``what``: how they were given, e.g. "--assign-to 'sam@…'") who is not
    a member of the organisation (``profiles.organisation_id``); never names another one.

    ``acting``: the user is the one seqctl acts as (``--as-user``); row level security
    would hide the organisation's rows rather than refuse (``plan`` would show every
    template as new, ``export`` would write nothing), so this says why instead.
    """
    member = tx(conn).first(
        "SELECT id FROM profiles WHERE id = CAST(:id AS uuid)"
        " AND organisation_id = CAST(:org AS uuid)",
        {"id": user_id, "org": organisation.id},
    )
    if member is not None:
        return
    if acting:
        raise Refused(
            f"{what}: user is not a member of organisation {organisation.name!r} "
            f"({organisation.id}); nothing was read or written",
            hint="with --as-user, seqctl works in that user's own organisation: leave out "
            "--org (or SEQCTL_ORG), or act as a member of the organisation",
        )
    raise InvalidInput(
        f"{what}: user {user_id} is not a member of organisation {organisation.name!r}; "
        "nothing was written",
        hint="assign the work to a member of the organisation (a user whose profile "
        "belongs to it), or add the user to the organisation in the web app",
    )


def user_organisation(conn: Connection, user_id: str) -> str | None:
    """The organisation of the user's profile, if any."""
    found = tx(conn).scalar(
        "SELECT organisation_id FROM profiles WHERE id = CAST(:id AS uuid)", {"id": user_id}
    )
    return None if found is None else str(found)


def act_as_user(conn: Connection, user_ref: str, org_ref: str | None) -> tuple[str, str | None]:
    """Resolve the acting user (email or UUID), then switch this transaction to row level
    security as them. Returns the user id and the organisation to use: ``org_ref``, else the
    user's own. Row level security, not seqctl, decides what the user can reach."""
    user_id = resolve_user(conn, user_ref)
    org = org_ref or user_organisation(conn, user_id)
    switch_to_user(conn, user_id, user_ref)
    return user_id, org

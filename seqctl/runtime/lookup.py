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

from sqlalchemy import Connection, bindparam, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from ..db import tables
from ..db.crm_columns import crm_columns
from ..errors import InvalidInput, NotFound, Refused, UsageError
from ..ids import is_uuid, parse_uuid
from ..suggest import did_you_mean
from ..templates.spec import Organisation

__all__ = [
    "RESTAURANT_FIELDS",
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


def resolve_template(conn: Connection, org_id: str, ref: str) -> Template:
    """The organisation's template with this UUID, key or exact name (in that order)."""
    st = tables.sequence_templates
    key = st.c.metadata["seqctl"]["key"].astext
    as_id = parse_uuid(ref)
    conditions = [key == ref, st.c.name == ref]
    if as_id is not None:
        conditions.append(st.c.id == as_id)
    rows = conn.execute(
        select(st.c.id, st.c.name, key.label("key"), st.c.is_active)
        .where(st.c.organisation_id == org_id, or_(*conditions))
        .order_by(st.c.created_at)
    ).all()
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
    raise NotFound(
        f"no sequence template {ref!r} in the organisation",
        hint=did_you_mean(
            ref,
            conn.execute(select(st.c.name).where(st.c.organisation_id == org_id)).scalars(),
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
        query = text(
            f"SELECT {columns} FROM restaurants r "
            "WHERE r.id = ANY(:ids) AND r.organisation_id = :org"
        ).bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=False))))
        for row in conn.execute(query, {"ids": ids, "org": org_id}).mappings():
            by_id[str(row["id"])] = _plain(row)
    if names:
        query = text(
            f"SELECT {columns} FROM unnest(CAST(:names AS text[])) AS n(name) "
            "JOIN restaurants r ON r.name = n.name AND r.organisation_id = :org ORDER BY r.id"
        )
        for row in conn.execute(query, {"names": names, "org": org_id}).mappings():
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
    missing = [m.ref for m in matches if m.row is None and m.error is None]
    elsewhere = _in_other_organisations(conn, org_id, missing) if missing else set()
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
            m.ref, error="restaurant_not_found", message=f"no restaurant {m.ref!r}"
        )
        for m in matches
    ]


def _in_other_organisations(conn: Connection, org_id: str, refs: list[str]) -> set[str]:
    ids = [canonical for r in refs if (canonical := parse_uuid(r)) is not None]
    names = [r for r in refs if not is_uuid(r)]
    query = text(
        "SELECT r.id::text AS ref FROM restaurants r WHERE r.id = ANY(CAST(:ids AS uuid[])) "
        "AND r.organisation_id <> :org "
        "UNION SELECT r.name FROM restaurants r WHERE r.name = ANY(CAST(:names AS text[])) "
        "AND r.organisation_id <> :org"
    )
    found = set(conn.execute(query, {"ids": ids, "names": names, "org": org_id}).scalars())
    return {r for r in refs if r in found or parse_uuid(r) in found}


def _plain(row: Any) -> dict[str, Any]:
    return {k: (str(v) if k == "id" else v) for k, v in dict(row).items()}


def require_uuids(values: Iterable[str], what: str) -> list[str]:
    """The values as lower-case UUIDs, de-duplicated in order; a usage error names bad ones."""
    given = list(dict.fromkeys(v.strip() for v in values))
    bad = [v for v in given if not is_uuid(v)]
    if bad:
        raise UsageError(
            f"not a {what} id: {', '.join(repr(b) for b in bad)}",
            hint=f"{what}s are given by UUID (see `seqctl status`)",
        )
    if not given:
        raise UsageError(f"no {what} given")
    return list(dict.fromkeys(str(parse_uuid(v)) for v in given))


def restaurant_ids(conn: Connection, org_id: str, ref: str) -> list[str]:
    """Ids of the organisation's restaurants matching one reference (for filters)."""
    match = resolve_restaurants(conn, org_id, [ref])[0]
    if match.row is not None:
        return [str(match.row["id"])]
    if match.error == "ambiguous_restaurant":
        rows = conn.execute(
            select(tables.restaurants.c.id).where(
                tables.restaurants.c.organisation_id == org_id,
                tables.restaurants.c.name == ref,
            )
        ).scalars()
        return [str(r) for r in rows]
    raise NotFound(match.message or f"no restaurant {ref!r}", hint="give a name or UUID")


def resolve_organisation(conn: Connection, ref: str | None) -> Organisation:
    """The organisation named by ``ref`` (UUID or exact name); with no ref, the only one."""
    orgs = tables.organisations
    if ref is None:
        rows = conn.execute(select(orgs.c.id, orgs.c.name).order_by(orgs.c.name).limit(11)).all()
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
        row = conn.execute(
            select(orgs.c.id, orgs.c.name).where(orgs.c.id == parse_uuid(ref))
        ).first()
        if row is not None:
            return Organisation(str(row.id), row.name)
        raise NotFound(f"no organisation with id {ref}", hint="check --org or SEQCTL_ORG")
    rows = conn.execute(select(orgs.c.id, orgs.c.name).where(orgs.c.name == ref)).all()
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
            conn.execute(select(orgs.c.name)).scalars(),
            "names must match exactly; pass the organisation's UUID or exact name with --org",
        ),
    )


def resolve_user(conn: Connection, ref: str) -> str:
    """The id of the one user with this UUID or email (case-insensitive).

    Profiles and ``auth.users`` are both searched: under row level security (``--as-user``)
    only profiles may be readable, as on Supabase. An email that matches several users
    (``sam@…`` and ``Sam@…``) is refused, listing them: seqctl never picks one at random.
    """
    profiles, users = tables.profiles, tables.users
    found: dict[str, str | None] = {}  # user id -> email
    for table in (profiles, users):
        if (
            table is users
            and not conn.execute(
                text("SELECT has_table_privilege('auth.users', 'SELECT')")
            ).scalar()
        ):
            break
        if is_uuid(ref):
            condition = table.c.id == parse_uuid(ref)
        else:
            pattern = ref.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
            condition = table.c.email.ilike(pattern)
        for row in conn.execute(
            select(table.c.id, table.c.email).where(condition).order_by(table.c.id).limit(11)
        ):
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
    member = conn.execute(
        select(tables.profiles.c.id).where(
            tables.profiles.c.id == user_id,
            tables.profiles.c.organisation_id == organisation.id,
        )
    ).first()
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
    found = conn.execute(
        select(tables.profiles.c.organisation_id).where(tables.profiles.c.id == user_id)
    ).scalar()
    return None if found is None else str(found)

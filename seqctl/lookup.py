"""Finding organisations and users by what a person types: a UUID, an exact name or an email."""

from __future__ import annotations

from sqlalchemy import Connection, select, text

from . import tables
from .errors import InvalidInput, NotFound, Refused, UsageError
from .ids import is_uuid, parse_uuid
from .model import Organisation
from .short_ids import expand_ids, parse_prefix
from .suggest import did_you_mean

__all__ = [
    "Organisation",
    "is_uuid",
    "require_member",
    "resolve_organisation",
    "resolve_user",
    "user_organisation",
]


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


def resolve_user(conn: Connection, ref: str, *, org_id: str | None = None) -> str:
    """The id of the one user with this UUID or email (case-insensitive).

    With ``org_id``, a short id (a unique prefix of at least 6 hex digits) of one of the
    organisation's users is accepted too.

    Profiles and ``auth.users`` are both searched: under row level security (``--as-user``)
    only profiles may be readable, as on Supabase. An email that matches several users
    (``sam@…`` and ``Sam@…``) is refused, listing them: seqctl never picks one at random.
    """
    profiles, users = tables.profiles, tables.users
    if org_id is not None and not is_uuid(ref) and parse_prefix(ref) is not None:
        expanded = expand_ids(conn, "user", org_id, [ref], missing_ok=True)
        if ref in expanded:
            return expanded[ref]
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

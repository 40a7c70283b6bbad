"""Finding organisations and users by what a person types: a UUID, an exact name or an email."""

from __future__ import annotations

from sqlalchemy import Connection, select, text

from . import tables
from .errors import NotFound, UsageError
from .ids import is_uuid, parse_uuid
from .model import Organisation
from .suggest import did_you_mean

__all__ = ["Organisation", "is_uuid", "resolve_organisation", "resolve_user", "user_organisation"]


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
    """The id of the user with this UUID or email (case-insensitive).

    Profiles are searched first: under row level security (``--as-user``) they are readable
    where ``auth.users`` is not, as on Supabase.
    """
    profiles, users = tables.profiles, tables.users
    for table in (profiles, users):
        if (
            table is users
            and not conn.execute(
                text("SELECT has_table_privilege('auth.users', 'SELECT')")
            ).scalar()
        ):
            break
        if is_uuid(ref):
            found = conn.execute(select(table.c.id).where(table.c.id == parse_uuid(ref))).scalar()
        else:
            pattern = ref.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
            found = conn.execute(select(table.c.id).where(table.c.email.ilike(pattern))).scalar()
        if found is not None:
            return str(found)
    raise NotFound(f"no user {ref!r}", hint="give the user's email or UUID (auth.users)")


def user_organisation(conn: Connection, user_id: str) -> str | None:
    """The organisation of the user's profile, if any."""
    found = conn.execute(
        select(tables.profiles.c.organisation_id).where(tables.profiles.c.id == user_id)
    ).scalar()
    return None if found is None else str(found)

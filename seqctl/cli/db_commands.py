"""`seqctl db …` (migrations) and `seqctl demo` (demo data)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import Refused
from .app import OutputFormat, app, database_url_source, emit_json, err, open_db, out, state

if TYPE_CHECKING:
    from ..db.migrate import Loss

db_app = typer.Typer(
    help="Database migrations (Alembic revisions 001–004 of the design document, 005 the "
    "application's subject lines and demo meetings).\n\n"
    "Examples:\n\n  seqctl db upgrade\n\n  seqctl db current\n\n  seqctl db downgrade -1\n\n"
    "  seqctl db sql > review.sql\n\n"
    "Where seqctl may not connect, migrate with its SQL instead:\n\n"
    '  seqctl db sql base:head | psql -v ON_ERROR_STOP=1 "$DATABASE_URL"',
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision (001–005 or head).")] = "head",
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Upgrade a database that has tables but no seqctl history without asking "
            "(needed when not run from a terminal).",
        ),
    ] = False,
) -> None:
    """Apply migrations up to REVISION (default: head), in one transaction.

    On a database that already has tables but no seqctl history (the application's CRM, or
    another database by mistake), it first lists what it would create, adopt and alter
    there, and needs --yes or a terminal's confirmation. An empty database is upgraded
    without asking.

    Examples:

      seqctl db upgrade

      seqctl db upgrade 005 --yes
    """
    from ..db.first_upgrade import first_upgrade
    from ..db.migrate import check_revision, current, upgrade

    check_revision(revision)
    with open_db(ctx, require_schema=False, migrate_embedded=False) as db:
        if not yes:
            with db.connect() as conn:
                preview = first_upgrade(conn, revision)
            if preview is not None:
                _confirm_first_upgrade(ctx, db.display, revision, preview.lines())
        with db.begin() as conn:
            before = current(conn)
            adopted = upgrade(conn, revision)
            after = current(conn)
    if adopted is not None:
        err(
            f"adopted the existing sequence tables at revision {adopted.revision}: "
            f"{len(adopted.differences)} difference(s) from the design"
            + (":" if adopted.differences else "")
        )
        for difference in adopted.differences:
            err(f"  - {difference}")
        for applied in adopted.applied:
            err(f"  applied: {applied}")
        before = adopted.revision
    if before == after:
        err(f"database already at revision {after}")
    else:
        err(f"upgraded {db.display}: {before or 'base'} -> {after}")


def _confirm_first_upgrade(ctx: typer.Context, where: str, revision: str, lines: list[str]) -> None:
    """Lists what a first upgrade does to a database with tables; asks on a terminal, else
    refuses without --yes (nothing changed)."""
    err(f"db upgrade on {where}: the database has tables but no seqctl history")
    for line in lines:
        err(f"  {line}")
    command = "seqctl db upgrade" + ("" if revision == "head" else f" {revision}") + " --yes"
    source = database_url_source(state(ctx).flags)
    check = f"check that {source} names the database you mean; " if source else ""
    if not sys.stdin.isatty():
        raise Refused(
            "db upgrade would change a database that already has tables (listed above) and no "
            "terminal is attached to confirm it; nothing was changed",
            hint=f"{check}to upgrade it, re-run with --yes: `{command}`",
        )
    if not typer.confirm("Upgrade this database?", err=True):
        raise Refused("db upgrade cancelled; nothing was changed")


@db_app.command("downgrade", context_settings={"ignore_unknown_options": True})
def db_downgrade(
    ctx: typer.Context,
    revision: Annotated[
        str, typer.Argument(help="Target revision: 001–005, base, or -1 for one step back.")
    ],
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Drop sequence instances, templates and steps and unlink tasks without "
            "asking (needed when not run from a terminal).",
        ),
    ] = False,
) -> None:
    """Roll migrations back to REVISION with the design document's rollback scripts.

    Pre-existing CRM tables (organisations, restaurants, tasks, …) are never dropped; rolling
    back 004 keeps every task and drops only its sequence columns. Sequence tables that
    `db upgrade` adopted (made by the application) are never dropped either: `base` removes
    only seqctl's own additions and bookkeeping. A rollback that would drop instances,
    templates or steps, or unlink tasks, lists them per organisation first and needs --yes
    or a terminal's confirmation.

    Examples:

      seqctl db downgrade -1   # one revision back; asks first if rows would be lost

      seqctl db downgrade base --yes   # drops seqctl's tables and everything in them
    """
    from ..db.migrate import current, downgrade, downgrade_losses, revisions
    from ..errors import UsageError

    known = ["base", *(rev for rev, _down, _doc in revisions())]
    if revision not in known and not (revision[:1] == "-" and revision[1:].isdigit()):
        raise UsageError(
            f"unknown revision {revision!r}",
            hint="a revision (" + ", ".join(known) + ") or -N for N steps back",
        )
    with open_db(ctx, require_schema=False, migrate_embedded=False) as db:
        confirmed = []
        if not yes:
            with db.connect() as conn:
                confirmed = downgrade_losses(conn, revision)
            if confirmed:
                _confirm_losses(db.display, revision, confirmed)
        with db.begin() as conn:
            before = current(conn)
            losses = downgrade_losses(conn, revision, lock=True)
            if not yes:
                _refuse_new_losses(revision, confirmed, losses)
            downgrade(conn, revision)
            after = current(conn)
    err(f"downgraded {db.display}: {before or 'base'} -> {after or 'base'}")
    for line in _loss_lines(losses):
        err(f"  {line}")


def _inert(value: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in value)


def _loss_lines(losses: list[Loss]) -> list[str]:
    return [
        f"{loss.count:,} {loss.what} — organisation "
        f"{_inert(loss.organisation) + ' ' if loss.organisation else ''}({loss.organisation_id})"
        for loss in losses
    ]


def _confirm_losses(where: str, revision: str, losses: list[Loss]) -> None:
    """Lists what the downgrade destroys; asks on a terminal, else refuses without --yes."""
    err(f"db downgrade {revision} on {where} would lose:")
    for line in _loss_lines(losses):
        err(f"  {line}")
    if not sys.stdin.isatty():
        raise Refused(
            f"db downgrade {revision} would destroy the rows listed above and no terminal is "
            "attached to confirm it; nothing was changed",
            hint="review them with `seqctl status`; to drop them anyway, run "
            f"`seqctl db downgrade {revision} --yes`",
        )
    if not typer.confirm("Downgrade and lose these rows? This cannot be undone", err=True):
        raise Refused(f"db downgrade {revision} cancelled; nothing was changed")


def _refuse_new_losses(revision: str, confirmed: list[Loss], losses: list[Loss]) -> None:
    """Refuses when more would be lost than was listed (rows written meanwhile)."""
    agreed = {loss.key: loss.count for loss in confirmed}
    more = [loss for loss in losses if loss.count > agreed.get(loss.key, 0)]
    if more:
        raise Refused(
            f"db downgrade {revision}: rows were added since the list was shown "
            f"({'; '.join(_loss_lines(more))}); nothing was changed",
            hint=f"run `seqctl db downgrade {revision}` again to review the new list",
        )


@db_app.command("current")
def db_current(
    ctx: typer.Context,
    format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.text
    ),
) -> None:
    """Print the database's migration revision (base: not migrated).

    Examples:

      seqctl db current

      seqctl db current --format json
    """
    from ..db.connection import HEAD_REVISION
    from ..db.migrate import current

    with open_db(ctx, require_schema=False) as db, db.connect() as conn:
        revision = current(conn)
    if format is OutputFormat.json:
        emit_json(
            {"revision": revision, "head": HEAD_REVISION, "up_to_date": revision == HEAD_REVISION}
        )
    else:
        out(f"{revision or 'base'}{' (head)' if revision == HEAD_REVISION else ''}")


@db_app.command("sql")
def db_sql(
    revisions: Annotated[
        str,
        typer.Argument(help="Range FROM:TO, e.g. base:head, 002:004, or head:base to roll back."),
    ] = "base:head",
) -> None:
    """Print the SQL of a migration range, to review and run without seqctl.

    This is the way to migrate a database seqctl may not connect to: the script runs as
    printed in psql or in Supabase's SQL editor, in one transaction, and records the
    revision in seqctl's version table, so that `seqctl db current` and every other
    command see the result. A script that starts at a revision refuses to run on a
    database at another one. Example:

      seqctl db sql base:head | psql -v ON_ERROR_STOP=1 "$DATABASE_URL"
    """
    from ..db.migrate import offline_sql
    from ..db.migrate import revisions as all_revisions
    from ..errors import UsageError

    start, sep, end = revisions.partition(":")
    if not sep or not start or not end:
        raise UsageError(f"expected a range FROM:TO, got {revisions!r}", hint="e.g. base:head")
    known = [rev for rev, _down, _doc in all_revisions()]
    order = ["base", *known]
    names = {"head": known[-1], **{rev: rev for rev in order}}
    if start not in names or end not in names:
        raise UsageError(
            f"unknown revision in {revisions!r}", hint="revisions: " + ", ".join([*order, "head"])
        )
    if names[start] == names[end]:
        raise UsageError(
            f"the range {revisions!r} is empty (both ends are revision {names[end]})",
            hint=f"e.g. {names[start]}:head, or base:head for the whole schema",
        )
    going_down = order.index(names[start]) > order.index(names[end])
    out(offline_sql(revisions, downgrade_sql=going_down))


@app.command("demo")
def demo(
    ctx: typer.Context,
    format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.text
    ),
) -> None:
    """Load demo data: an organisation, users, restaurants, task and message templates.

    Idempotent: running it again changes nothing. Example, then a first sequence:

      seqctl demo

      seqctl sync sequences/ && seqctl apply -t restaurant-onboarding -r "Luigi's Trattoria"
    """
    from ..db.demo import load_demo

    with open_db(ctx) as db, db.begin() as conn:
        summary = load_demo(conn)
    if format is OutputFormat.json:
        emit_json({"demo": summary})
    else:
        out(
            f"demo organisation {summary['organisation']!r}: {summary['users']} users, "
            f"{summary['restaurants']} restaurants, {summary['task_templates']} task templates, "
            f"{summary['message_templates']} message templates"
        )

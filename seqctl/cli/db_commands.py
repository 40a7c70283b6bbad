"""`seqctl db …` (migrations) and `seqctl demo` (demo data)."""

from __future__ import annotations

from typing import Annotated

import typer

from .app import OutputFormat, app, emit_json, err, open_db, out

db_app = typer.Typer(
    help="Database migrations (Alembic revisions 001–004 of the design document, 005 the "
    "application's subject lines and demo meetings).\n\n"
    "Examples:\n\n  seqctl db upgrade\n\n  seqctl db current\n\n  seqctl db downgrade base\n\n"
    "  seqctl db sql > review.sql",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision (001–005 or head).")] = "head",
) -> None:
    """Apply migrations up to REVISION (default: head), in one transaction."""
    from ..migrate import current, upgrade

    with open_db(ctx, require_schema=False, migrate_embedded=False) as db, db.begin() as conn:
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


@db_app.command("downgrade")
def db_downgrade(
    ctx: typer.Context,
    revision: Annotated[
        str, typer.Argument(help="Target revision: 001–004, base, or -1 for one step back.")
    ],
) -> None:
    """Roll migrations back to REVISION with the design document's rollback scripts.

    Pre-existing CRM tables (organisations, restaurants, tasks, …) are never dropped; rolling
    back 004 keeps every task and drops only its sequence columns. Sequence tables that
    `db upgrade` adopted (made by the application) are never dropped either: `base` removes
    only seqctl's own additions and bookkeeping.
    """
    from ..migrate import current, downgrade

    with open_db(ctx, require_schema=False, migrate_embedded=False) as db, db.begin() as conn:
        before = current(conn)
        downgrade(conn, revision)
        after = current(conn)
    err(f"downgraded {db.display}: {before or 'base'} -> {after or 'base'}")


@db_app.command("current")
def db_current(
    ctx: typer.Context,
    format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.text
    ),
) -> None:
    """Print the database's migration revision (empty: not migrated)."""
    from ..database import HEAD_REVISION
    from ..migrate import current

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
        typer.Argument(help="Range FROM:TO, e.g. base:head, 002:004, or 004:base to roll back."),
    ] = "base:head",
) -> None:
    """Print the SQL of a migration range for review, without touching a database."""
    from ..errors import UsageError
    from ..migrate import offline_sql

    start, sep, end = revisions.partition(":")
    if not sep or not start or not end:
        raise UsageError(f"expected a range FROM:TO, got {revisions!r}", hint="e.g. base:head")
    order = ["base", "001", "002", "003", "004", "005", "head"]
    if start not in order or end not in order:
        raise UsageError(
            f"unknown revision in {revisions!r}", hint="revisions: " + ", ".join(order)
        )
    going_down = order.index(start) > order.index(end)
    out(offline_sql(revisions, downgrade_sql=going_down))


@app.command("demo")
def demo(
    ctx: typer.Context,
    format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.text
    ),
) -> None:
    """Load demo data: an organisation, users, restaurants, task and message templates.

    Idempotent: running it again changes nothing. Then try:

      seqctl sync sequences/ && seqctl apply -t restaurant-onboarding -r "Luigi's Trattoria"
    """
    from ..demo import load_demo

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

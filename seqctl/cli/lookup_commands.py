"""`seqctl restaurants`, `seqctl templates`, `seqctl users`: what there is to act on, with
short ids (spec §8)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from ..errors import NotFound
from ..short_ids import short
from ..suggest import did_you_mean
from .app import OutputFormat, app, emit_json, out
from .instance_commands import _transaction

FormatOption = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]


@app.command("restaurants")
def restaurants(
    ctx: typer.Context,
    search: Annotated[
        str | None,
        typer.Argument(
            metavar="SEARCH",
            help="Part of the name or city (case, accents and apostrophes ignored), or the "
            "start of the id.",
            show_default=False,
        ),
    ] = None,
    format: FormatOption = OutputFormat.text,
) -> int:
    """The organisation's restaurants: name, city, short id and running sequences.

    Examples:

      seqctl restaurants

      seqctl restaurants luigi
    """
    from ..pg import tx
    from ..runtime.listings import list_restaurants
    from .instance_views import table

    with _transaction(ctx) as context:
        conn, org = context.conn, context.org
        rows = list_restaurants(conn, org.id, search)
        if not rows and search:
            names = tx(conn).scalars(
                "SELECT name FROM restaurants WHERE organisation_id = CAST(:o AS uuid)",
                {"o": org.id},
            )
            hint = did_you_mean(search, names, "`seqctl restaurants` lists them all")
            raise NotFound(f"no restaurant matches {search!r} in {org.name!r}", hint=hint)
    if format is OutputFormat.json:
        emit_json({"restaurants": [asdict(r) for r in rows]})
        return 0
    if not rows:
        out("no restaurants")
        return 0
    for line in table(
        ["RESTAURANT", "CITY", "ID", "RUNNING"],
        [[r.name, r.city or "-", short(r.id), str(r.running)] for r in rows],
    ):
        out(line)
    return 0


@app.command("templates")
def templates(ctx: typer.Context, format: FormatOption = OutputFormat.text) -> int:
    """The organisation's sequence templates: key, name, managed by seqctl or not, active,
    steps, version, running instances and those on an older version (`seqctl migrate`
    moves them).

    Example:

      seqctl templates --format json
    """
    from ..runtime.listings import list_templates
    from .instance_views import table

    with _transaction(ctx) as context:
        conn, org = context.conn, context.org
        rows = list_templates(conn, org.id)
    if format is OutputFormat.json:
        emit_json({"templates": [asdict(r) for r in rows]})
        return 0
    if not rows:
        out("no templates (seqctl sync sequences/ creates them)")
        return 0
    versions = any(r.version is not None for r in rows)
    headers = ["KEY", "NAME", "MANAGED", "ACTIVE", "STEPS"]
    headers += ["VERSION"] if versions else []
    headers += ["RUNNING"] + (["OUTDATED"] if versions else []) + ["ID"]
    body = [
        [
            r.key or "-",
            r.name,
            "yes" if r.managed else "no",
            "yes" if r.is_active else "no",
            str(r.steps),
            *([str(r.version or "-")] if versions else []),
            str(r.running),
            *([str(r.outdated)] if versions else []),
            short(r.id),
        ]
        for r in rows
    ]
    for line in table(headers, body):
        out(line)
    return 0


@app.command("users")
def users(ctx: typer.Context, format: FormatOption = OutputFormat.text) -> int:
    """The organisation's users (for --assign-to, --assigned-to and --as-user).

    Example:

      seqctl users
    """
    from ..runtime.listings import list_users
    from .instance_views import table

    with _transaction(ctx) as context:
        conn, org = context.conn, context.org
        rows = list_users(conn, org.id)
    if format is OutputFormat.json:
        emit_json({"users": [asdict(r) for r in rows]})
        return 0
    if not rows:
        out("no users")
        return 0
    for line in table(
        ["EMAIL", "NAME", "ID", "ASSIGNED"],
        [[r.email or "-", r.name or "-", short(r.id), str(r.assigned)] for r in rows],
    ):
        out(line)
    return 0

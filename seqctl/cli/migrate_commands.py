"""`seqctl migrate`: move running instances to their template's current version (§9)."""

from __future__ import annotations

import sys
from enum import StrEnum
from types import ModuleType
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer

from ..errors import Refused
from ..inert import inert
from .app import TemplateOption, app, emit_json, err, not_empty, out, state
from .instance_commands import _transaction

if TYPE_CHECKING:
    from ..runtime.migrate_instances import Migration


class MigrateFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


@app.command("migrate")
def migrate(
    ctx: typer.Context,
    template: TemplateOption,
    restaurant: Annotated[
        list[str] | None,
        typer.Option(
            "--restaurant",
            "-r",
            help="Only this restaurant's instance (name or UUID; repeatable).",
            show_default=False,
            callback=not_empty,
        ),
    ] = None,
    instance: Annotated[
        list[str] | None,
        typer.Option(
            "--instance",
            "-i",
            help="Only this instance (UUID; repeatable).",
            show_default=False,
            callback=not_empty,
        ),
    ] = None,
    reschedule: Annotated[
        bool,
        typer.Option(
            "--reschedule",
            help="Active tasks become due at their activation time + their step's new delay "
            "(default: they keep their due date).",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the preview only; change nothing.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Migrate without asking for confirmation.")
    ] = False,
    format: Annotated[
        MigrateFormat, typer.Option("--format", help="Output format of the preview.")
    ] = MigrateFormat.text,
) -> int:
    """Move running (active or paused) instances to the template's current steps.

    Shows a preview per instance first (steps kept, changed field by field, added, removed,
    passed; the new active step; due dates that change), then changes everything in one
    transaction. History (completed and cancelled tasks) is never changed.

    Examples:

      seqctl migrate --template restaurant-onboarding --dry-run

      seqctl migrate -t restaurant-onboarding -r "Luigi's Trattoria" --yes
    """
    from ..runtime.migrate_instances import apply_migration, plan_migration
    from . import migrate_views as views

    if restaurant and instance:
        from ..errors import UsageError

        raise UsageError(
            "--restaurant and --instance cannot be combined", hint="use one or the other"
        )
    settings = state(ctx).settings
    with _transaction(ctx) as context:
        conn = context.conn
        migration = plan_migration(
            conn,
            context.org,
            template,
            restaurants=restaurant or (),
            instances=instance or (),
            reschedule=reschedule,
            timezone=context.timezone,
            lock=not dry_run,
        )
        apply = not dry_run and bool(migration.instances)
        if apply and not yes:
            if not sys.stdin.isatty():
                _show(views, migration, format, settings.zone, applied=False)
                raise Refused(
                    f"migrate would change {len(migration.instances)} running instance(s) "
                    "and no terminal is attached to confirm it; nothing was changed",
                    hint=f"review the preview above, then run `seqctl migrate --template "
                    f"{inert(template)} --yes` (or --dry-run to only look)",
                )
            for line in views.text_lines(migration, settings.zone, applied=False):
                err(inert(line))
            if not typer.confirm(
                f"Migrate {len(migration.instances)} instance(s)?", default=False, err=True
            ):
                raise Refused("migrate cancelled: nothing was changed")
        if apply:
            apply_migration(
                conn, migration, acting_user_id=context.user.id if context.user else None
            )
    _show(views, migration, format, settings.zone, applied=apply)
    return 0


def _show(
    views: ModuleType, migration: Migration, format: MigrateFormat, zone: ZoneInfo, *, applied: bool
) -> None:
    if format is MigrateFormat.json:
        emit_json(views.as_json(migration, zone, applied=applied))
        return
    render = views.markdown_lines if format is MigrateFormat.markdown else views.text_lines
    out("\n".join(render(migration, zone, applied=applied)))  # one write: the same bytes

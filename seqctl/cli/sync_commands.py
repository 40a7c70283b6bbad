"""`seqctl plan`, `seqctl sync` and `seqctl export`: templates as code, declaratively."""

from __future__ import annotations

import functools
import gc
import json
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer

from .. import config
from ..errors import Refused, UsageError
from ..inert import inert
from .app import (
    EXIT_CHANGES,
    EXIT_OK,
    OutputFormat,
    app,
    colour_for,
    emit_json,
    err,
    open_db,
    out,
    state,
)

if TYPE_CHECKING:
    from ..config import Settings
    from ..pg import Connection
    from ..runtime.lookup import Organisation
    from ..sync.apply_plan import Confirm
    from ..sync.plan import Plan
    from ..templates.spec import TemplateSpec

DEFAULT_PATH = Path(config.DEFAULT_PATH)
P = ParamSpec("P")
R = TypeVar("R")


class PlanFormat(StrEnum):
    """The formats of ``seqctl.sync.plan_formats.RENDERERS`` (a test keeps the two equal)."""

    text = "text"
    json = "json"
    markdown = "markdown"


Paths = Annotated[
    list[Path] | None,
    typer.Argument(help="Template files or directories (default: sequences/).", show_default=False),
]
FormatOption = Annotated[
    PlanFormat,
    typer.Option(
        "--format",
        help="text, json (format_version 1) or markdown (for a pull-request "
        "comment or $GITHUB_STEP_SUMMARY).",
    ),
]
DetailedExitcode = Annotated[
    bool,
    typer.Option(
        "--detailed-exitcode",
        help="Exit 0 when there are no changes, 2 when there are, 1 on error.",
    ),
]
Prune = Annotated[
    bool,
    typer.Option(
        "--prune",
        help="Delete (instead of deactivate) managed templates whose file "
        "was removed; refused for templates that have instances.",
    ),
]
Adopt = Annotated[
    bool,
    typer.Option(
        "--adopt",
        help="Take over unmanaged templates (made outside seqctl) whose name "
        "equals a file's name, in place.",
    ),
]
AllowEmpty = Annotated[
    bool, typer.Option("--allow-empty", help="Allow --prune with no template files at all.")
]


def _organisation(conn: Connection, settings: Settings) -> tuple[Organisation, str | None]:
    """The organisation to work on and the acting user's id.

    With --as-user, the user and the organisation are found first (so that a user who is
    not a member of ``--org`` is told so, by name), then this transaction switches to row
    level security as that user, or refuses (exit 64) where the database cannot.
    """
    from ..db.connection import switch_to_user
    from ..runtime.lookup import (
        require_member,
        resolve_organisation,
        resolve_user,
        user_organisation,
    )

    if not settings.user:
        return resolve_organisation(conn, settings.org), None
    user_id = resolve_user(conn, settings.user)
    organisation = resolve_organisation(conn, settings.org or user_organisation(conn, user_id))
    require_member(conn, user_id, organisation, f"--as-user {settings.user!r}", acting=True)
    switch_to_user(conn, user_id, settings.user)
    return organisation, user_id


def _writable_file(path: Path) -> None:
    """--out FILE must go into an existing directory (checked before any work is done)."""
    parent = path.parent
    if path.is_dir():
        raise UsageError(f"--out {inert(path)} is a directory", hint="give a file name")
    if not parent.is_dir():
        problem = "is not a directory" if parent.exists() else "does not exist"
        raise UsageError(
            f"--out {inert(path)}: the directory {inert(parent)} {problem}",
            hint="create the directory first, or save the plan elsewhere",
        )


def _out_directory(path: Path) -> None:
    """export --out DIR: missing directories are created, but none of them may be a file."""
    for folder in (path, *path.parents):
        if folder.exists():
            if not folder.is_dir():
                raise UsageError(
                    f"--out {inert(path)}: {inert(folder)} is a file, not a directory",
                    hint="choose another --out directory",
                )
            return


def _lock_timeout(value: float | None) -> float | None:
    """--lock-timeout: a finite number of seconds from 0 to a day (not inf, nan or 1e300)."""
    from ..config import check_lock_timeout

    return None if value is None else check_lock_timeout(value)


def _no_cycle_collection(command: Callable[P, R]) -> Callable[P, R]:
    """Run ``command`` with the cycle collector off.

    Reading, validating and comparing a thousand templates makes hundreds of thousands of
    objects that live until the plan is made, none of them in a reference cycle: the
    collector would walk them again and again (a third of a no-op sync's time).
    Refcounting frees them as before; collection resumes when the command is done."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return command(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return run


def _render(plan: Plan, fmt: PlanFormat, *, applied: bool) -> None:
    from ..sync.plan_formats import RENDERERS

    colour = fmt is PlanFormat.text and colour_for(sys.stdout)
    out(RENDERERS[fmt.value](plan, applied, colour), colour=colour)


def _load(paths: list[Path] | None) -> list[TemplateSpec]:
    from ..sync.inputs import desired_templates

    templates, warnings = desired_templates(paths or [DEFAULT_PATH])
    for warning in warnings:
        err(f"warning: {warning}")
    return templates


@app.command("plan")
@_no_cycle_collection
def plan_command(
    ctx: typer.Context,
    paths: Paths = None,
    format: FormatOption = PlanFormat.text,
    detailed_exitcode: DetailedExitcode = False,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Also save the plan (JSON) to FILE, for `seqctl sync --plan FILE`.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    prune: Prune = False,
    adopt: Adopt = False,
    allow_empty: AllowEmpty = False,
) -> int:
    """Show what `seqctl sync` would change in the organisation's templates (read-only).

    Templates and steps to create, update (field by field), deactivate or delete; drift (a
    managed template edited outside git); running instances (unaffected: they keep their
    snapshot).

    Examples:

      seqctl plan sequences/

      seqctl plan --format markdown >> "$GITHUB_STEP_SUMMARY"

      seqctl plan --detailed-exitcode --out plan.json && echo "no changes"
    """
    from ..sync.apply_plan import make_plan
    from ..sync.plan import PlanOptions, plan_to_document
    from ..sync.scope import scope_of

    if out_file is not None:
        _writable_file(out_file)
    templates = _load(paths)
    scope = scope_of(paths or [DEFAULT_PATH])
    options = PlanOptions(prune=prune, adopt=adopt, allow_empty=allow_empty)
    with open_db(ctx, acting_user=True) as db, db.transaction(snapshot=True) as conn:
        organisation, _user = _organisation(conn, state(ctx).settings)
        plan = make_plan(conn, templates, organisation, options, scope)
        plan = _migration_previews(conn, plan, state(ctx).settings.timezone)
        _warn_missing_columns(conn, templates, organisation.id)
    if out_file is not None:
        try:
            out_file.write_text(
                json.dumps(plan_to_document(plan), indent=2, ensure_ascii=False) + "\n",
                encoding="utf-8",
            )
        except OSError as error:
            raise Refused(f"cannot write --out {inert(out_file)}: {error.strerror}") from None
        err(f"plan saved to {out_file}; apply it with `seqctl sync --plan {out_file}`")
    _render(plan, format, applied=False)
    return EXIT_CHANGES if detailed_exitcode and plan.has_changes else EXIT_OK


@app.command("sync")
@_no_cycle_collection
def sync_command(
    ctx: typer.Context,
    paths: Paths = None,
    format: FormatOption = PlanFormat.text,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show the plan (same as `seqctl plan`).")
    ] = False,
    detailed_exitcode: DetailedExitcode = False,
    plan_file: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            help="Apply exactly this saved plan (`seqctl plan --out FILE`); "
            "refused as stale if the templates changed since.",
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    prune: Prune = False,
    adopt: Adopt = False,
    allow_empty: AllowEmpty = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Delete without asking (needed for --prune "
            "deletions when not run from a terminal).",
        ),
    ] = False,
    lock_timeout: Annotated[
        float | None,
        typer.Option(
            "--lock-timeout",
            callback=_lock_timeout,
            help="Seconds to wait for another sync of the "
            "organisation (default 60, or lock_timeout in seqctl.toml).",
            show_default=False,
        ),
    ] = None,
) -> int:
    """Make the organisation's templates match the files: one transaction, under a lock.

    Creates and updates managed templates in place, deactivates those whose file was
    removed (--prune deletes them if they have no instances), puts drift back. Templates
    made outside seqctl are never touched (--adopt takes over one with a file's name).

    Examples:

      seqctl sync sequences/

      seqctl sync --prune --yes

      seqctl plan --out plan.json && seqctl sync --plan plan.json
    """
    from ..db.connection import switch_to_user
    from ..runtime.lookup import require_member, resolve_organisation, resolve_user
    from ..sync.apply_plan import SyncOptions, sync, sync_saved_plan
    from ..sync.scope import scope_of

    if plan_file is not None and (paths or prune or adopt or allow_empty or dry_run):
        raise UsageError(
            "--plan FILE applies a saved plan: it takes no PATH, --prune, --adopt, --allow-empty "
            "or --dry-run",
            hint="those were fixed when the plan was made",
        )
    settings = state(ctx).settings
    timeout = settings.lock_timeout if lock_timeout is None else lock_timeout
    saved = _read_plan(plan_file) if plan_file is not None else None
    templates = _load(paths) if saved is None else []
    confirm = _confirmer(yes)
    with open_db(ctx, acting_user=True) as db, db.transaction() as conn:
        if saved is not None:
            user = None
            if settings.user:
                user = resolve_user(conn, settings.user)
                require_member(
                    conn, user, saved.organisation, f"--as-user {settings.user!r}", acting=True
                )
            if settings.org:
                chosen = resolve_organisation(conn, settings.org)
                if chosen.id != saved.organisation.id:
                    raise UsageError(
                        f"the plan is for organisation {saved.organisation.name!r}, "
                        f"not {chosen.name!r}",
                        hint="drop --org or make a new plan",
                    )
            if user is not None and settings.user:
                switch_to_user(conn, user, settings.user)
            plan = sync_saved_plan(
                conn,
                saved,
                lock_timeout=timeout,
                confirm=confirm,
                acting_user=user,
                after_apply=_migrator(conn, settings.timezone, user),
            )
        else:
            organisation, user = _organisation(conn, settings)
            options = SyncOptions(
                prune=prune,
                adopt=adopt,
                allow_empty=allow_empty,
                lock_timeout=timeout,
                acting_user=user,
            )
            plan = sync(
                conn,
                templates,
                organisation,
                options,
                confirm=confirm,
                dry_run=dry_run,
                scope=scope_of(paths or [DEFAULT_PATH]),
                after_apply=_migrator(conn, settings.timezone, user),
            )
            if dry_run:
                plan = _migration_previews(conn, plan, settings.timezone)
            _warn_missing_columns(conn, templates, organisation.id)
    _render(plan, format, applied=not dry_run)
    return EXIT_CHANGES if dry_run and detailed_exitcode and plan.has_changes else EXIT_OK


def _migration_previews(conn: Connection, plan: Plan, timezone: str) -> Plan:
    """The plan with, for each template whose file says ``running_instances: migrate``,
    what sync will do to its running instances (spec §9)."""
    from dataclasses import replace

    from ..runtime.migrate_instances import preview_sync_migration

    changes = tuple(
        replace(
            c,
            migration=preview_sync_migration(
                conn,
                plan.organisation,
                c.template_id,
                c.steps,
                c.new_version,
                timezone=timezone,
                metadata=c.row["metadata"] if c.row else None,  # its schedule after the sync (§10)
            ),
        )
        if c.migrates_running and c.template_id and c.impact.running
        else c
        for c in plan.changes
    )
    return replace(plan, changes=changes)


def _migrator(conn: Connection, timezone: str, user: str | None) -> Callable[[Plan], None]:
    """After a sync's writes, in its transaction: migrate the running instances of the
    templates whose files say ``running_instances: migrate`` (any failure rolls back all)."""

    def after(plan: Plan) -> None:
        changes = [c for c in plan.changes if c.migrates_running and c.impact.running]
        if not changes:  # (the usual case: no need to load the migration machinery)
            return
        from ..runtime.migrate_instances import migrate_after_sync

        migrate_after_sync(conn, plan.organisation, changes, acting_user_id=user, timezone=timezone)

    return after


def _warn_missing_columns(conn: Connection, templates: list[TemplateSpec], org_id: str) -> None:
    from ..sync.render_check import missing_column_warnings

    for warning in missing_column_warnings(conn, templates, org_id):
        err(f"warning: {warning}")


def _export_variables(text: str | None, out_dir: Path, *, force: bool, write: bool) -> None:
    """Write the declared variables next to the exported templates (as for templates:
    unchanged when equal, a different file only with --force)."""
    from ..templates.files import DECLARED_FILE

    if text is None:
        return
    path = out_dir / DECLARED_FILE
    same = path.exists() and path.read_text(encoding="utf-8") == text
    if path.exists() and not same and not force:
        raise Refused(
            f"export would overwrite a different {path}",
            hint="export into an empty directory with --out DIR, or pass --force",
        )
    if not write:
        return
    if same:
        err(f"unchanged {path}")
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    err(f"wrote {path}")


def _read_plan(path: Path) -> Plan:
    from ..sync.inputs import read_plan_file

    return read_plan_file(path)


def _confirmer(yes: bool) -> Confirm:
    """Asks before deleting templates: on a terminal, a prompt; otherwise --yes is required."""

    def confirm(plan: Plan) -> bool:
        if yes:
            return True
        doomed = [c.key for c in plan.changes if c.kind == "delete"]
        if not sys.stdin.isatty():
            raise Refused(
                f"sync would delete {len(doomed)} template(s) ({', '.join(doomed)}) and no "
                "terminal is attached to confirm it",
                hint="review with `seqctl plan --prune`, then run `seqctl sync --prune --yes`",
            )
        from ..sync.plan_formats import render_text

        colour = colour_for(sys.stderr)
        err(render_text(plan, False, colour), colour=colour)
        return typer.confirm(
            f"Delete {len(doomed)} template(s)? This cannot be undone", default=False, err=True
        )

    return confirm


@app.command("export")
def export_command(
    ctx: typer.Context,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Directory to write the files to.", file_okay=False)
    ] = DEFAULT_PATH,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite files that differ from the export.")
    ] = False,
    format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.text
    ),
) -> None:
    """Write every template of the organisation (also ones made in the web app) as v1 YAML.

    Brings an existing database under git: export, review, then `seqctl sync --adopt`;
    after that `seqctl plan` shows no changes.

    Examples:

      seqctl export --out exported/

      seqctl export --out exported/ && seqctl validate exported/
    """
    from ..sync.actual import read_state
    from ..sync.export import export_templates, export_variables, write_export

    _out_directory(out_dir)
    with open_db(ctx, acting_user=True) as db, db.transaction(snapshot=True) as conn:
        organisation, _user = _organisation(conn, state(ctx).settings)
        actual = read_state(conn, organisation)
        exported = export_templates(actual)
    variables, variable_warnings = export_variables(actual)
    try:
        _export_variables(variables, out_dir, force=force, write=False)  # refuse before writing
        results = write_export(exported, out_dir, force=force)
        _export_variables(variables, out_dir, force=force, write=True)
    except OSError as error:
        where = f" {inert(error.filename)}" if error.filename else ""
        raise Refused(f"export: cannot write{where}: {error.strerror}") from None
    for warning in variable_warnings:
        err(f"warning: variables.yaml: {inert(warning)}")
    for item, _path, _written in results:
        for warning in item.warnings:
            err(f"warning: {inert(item.filename)}: {warning}")
    if format is OutputFormat.json:
        emit_json(
            {
                "organisation": {"id": organisation.id, "name": organisation.name},
                "files": [
                    {
                        "file": str(path),
                        "key": item.key,
                        "name": item.name,
                        "template_id": item.template_id,
                        "managed": item.managed,
                        "written": written,
                        "warnings": list(item.warnings),
                    }
                    for item, path, written in results
                ],
            }
        )
        return
    for item, path, written in results:
        out(
            f"{'wrote' if written else 'unchanged'} {inert(path)}"
            f"{'' if item.managed else ' (unmanaged: adopt with `seqctl sync --adopt`)'}"
        )
    err(f"exported {len(results)} template(s) of {organisation.name!r} to {inert(out_dir)}")

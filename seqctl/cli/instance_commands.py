"""`seqctl apply`, `status`, `pause/resume/cancel/finish`, `task complete/skip`, `advance`.

Each command parses its options, runs one library call in one transaction, renders the
result (``instance_views``) and returns; library errors become exit codes in ``app.main``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import UsageError
from ..inert import inert
from .app import (
    OutputFormat,
    TemplateOption,
    app,
    emit_json,
    not_empty,
    open_db,
    out,
    state,
    stdout_is_terminal,
)

if TYPE_CHECKING:  # the database layer loads only when a command runs (start-up time)
    from ..pg import Tx
    from ..runtime.context import Context

MAX_LIMIT = 2**63 - 1  # PostgreSQL's bigint: a larger LIMIT is a usage error, not SQL's
PROGRESS_THRESHOLD = 20  # restaurants; fewer than this show no progress bar

FormatOption = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]
InstancesArg = Annotated[
    list[str], typer.Argument(help="Instance UUIDs.", show_default=False, callback=not_empty)
]
TasksArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Task ids (UUIDs or short ids); or use --instance / --restaurant.",
        show_default=False,
        callback=not_empty,
        metavar="TASK",
    ),
]
InstanceOfTask = Annotated[
    str | None,
    typer.Option(
        "--instance",
        "-i",
        metavar="INSTANCE",
        help="The active task of this instance (UUID or short id).",
        show_default=False,
        callback=not_empty,
    ),
]
RestaurantOfTask = Annotated[
    str | None,
    typer.Option(
        "--restaurant",
        "-r",
        metavar="RESTAURANT",
        help="The active task of this restaurant's running sequence (name or id).",
        show_default=False,
        callback=not_empty,
    ),
]
TemplateOfTask = Annotated[
    str | None,
    typer.Option(
        "--template",
        "-t",
        metavar="TEMPLATE",
        help="With --restaurant: the sequence of this template (key, name or id).",
        show_default=False,
        callback=not_empty,
    ),
]


class Status(StrEnum):
    active = "active"
    paused = "paused"
    completed = "completed"
    cancelled = "cancelled"


@contextlib.contextmanager
def _transaction(ctx: typer.Context, *, all_organisations: bool = False) -> Iterator[Context]:
    """One transaction on one psycopg connection (no SQLAlchemy; the migration check runs
    on it too), as the run-time context of the command: its organisation, acting user
    (--as-user: under row level security as them), time zone and clock, resolved once."""
    with open_db(ctx, acting_user=True) as db, db.transaction() as conn:
        yield _context(ctx, conn, all_organisations=all_organisations)


def _context(ctx: typer.Context, conn: Tx, *, all_organisations: bool = False) -> Context:
    from ..runtime.context import ActingUser, Context
    from ..runtime.lookup import act_as_user, resolve_organisation

    settings = state(ctx).settings
    org_ref, user = settings.org, None
    if settings.user:  # under row level security: only what that user may reach
        user_id, org_ref = act_as_user(conn, settings.user, settings.org)
        user = ActingUser(user_id, settings.user)
    organisation = None if all_organisations else resolve_organisation(conn, org_ref)
    return Context(conn, organisation, user, settings.timezone)


def _emit(format: OutputFormat, lines: list[str], payload: dict[str, Any]) -> None:
    if format is OutputFormat.json:
        emit_json(payload)
    else:
        for line in lines:  # one line each: a line break in data is shown as \n
            out(inert(line))


def _read_restaurants(path: Path) -> list[str]:
    from ..reading import read_text

    content = read_text(path, "--restaurants-file")
    lines = (line.strip() for line in content.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("starting"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("apply", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


@app.command("apply")
def apply(
    ctx: typer.Context,
    template: TemplateOption,
    restaurant: Annotated[
        list[str] | None,
        typer.Option(
            "--restaurant",
            "-r",
            help="Restaurant name or UUID (repeatable).",
            show_default=False,
            callback=not_empty,
        ),
    ] = None,
    restaurants_file: Annotated[
        Path | None,
        typer.Option(
            "--restaurants-file",
            help="File with one restaurant name or UUID per line ('-': stdin; "
            "blank lines and # comments ignored).",
            show_default=False,
        ),
    ] = None,
    assign_to: Annotated[
        str | None,
        typer.Option(
            "--assign-to",
            help="Assignee (email or UUID). Default: the acting user (--as-user).",
            show_default=False,
            callback=not_empty,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Show the instances and tasks that would be created; write nothing."
        ),
    ] = False,
    format: FormatOption = OutputFormat.text,
) -> int:
    """Start a template for restaurants: one instance each, with a task for every step.

    A restaurant that already has an active or paused instance of the template is skipped
    (already_active), so a bulk apply can be re-run. All in one transaction.

    Examples:

      seqctl apply -t restaurant-onboarding -r "Luigi's Trattoria" -r "Spice Route"

      seqctl apply -t restaurant-onboarding --restaurants-file leads.txt --dry-run
    """
    from ..runtime.apply import UnknownRestaurants, apply_template
    from . import instance_views as views

    refs = list(restaurant or []) + (
        _read_restaurants(restaurants_file) if restaurants_file else []
    )
    if not refs:
        raise UsageError("no restaurant given", hint="use --restaurant or --restaurants-file")
    settings = state(ctx).settings
    show_bar = (
        format is OutputFormat.text
        and stdout_is_terminal()
        and sys.stderr.isatty()
        and len(refs) > PROGRESS_THRESHOLD
    )
    try:
        with _transaction(ctx) as context, _progress(show_bar) as progress:
            report = apply_template(
                context, template, refs, assign_to=assign_to, dry_run=dry_run, progress=progress
            )
    except UnknownRestaurants as error:
        if format is OutputFormat.json:
            emit_json(
                {
                    "template": template,
                    "dry_run": dry_run,
                    "results": [
                        {"ref": o.ref, "result": o.result, "message": o.message}
                        for o in error.outcomes
                    ],
                }
            )
        raise
    _emit(format, views.apply_lines(report, settings.zone), views.apply_json(report, settings.zone))
    return 0


@app.command("status")
def status(
    ctx: typer.Context,
    instance: Annotated[
        str | None,
        typer.Argument(
            help="Instance UUID: show its step timeline.", show_default=False, callback=not_empty
        ),
    ] = None,
    restaurant: Annotated[
        str | None,
        typer.Option(
            "--restaurant",
            "-r",
            help="Only this restaurant (name or UUID).",
            show_default=False,
            callback=not_empty,
        ),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            "-t",
            help="Only this template (key, name or UUID).",
            show_default=False,
            callback=not_empty,
        ),
    ] = None,
    status: Annotated[
        list[Status] | None,
        typer.Option(
            "--status", "-s", help="Only instances in this status (repeatable).", show_default=False
        ),
    ] = None,
    assigned_to: Annotated[
        str | None,
        typer.Option(
            "--assigned-to",
            help="Only instances assigned to this user (email or UUID).",
            show_default=False,
            callback=not_empty,
        ),
    ] = None,
    limit: Annotated[
        int,
        typer.Option(
            "--limit", min=0, max=MAX_LIMIT, help="Show at most this many instances (0: all)."
        ),
    ] = 100,
    overdue_after: Annotated[
        str | None,
        typer.Option(
            "--overdue-after",
            metavar="DURATION",
            help="A due task is overdue after this grace period (e.g. 30m, 1h, 2d; default "
            "1h). Env: SEQCTL_OVERDUE_AFTER; or overdue_after in seqctl.toml.",
            show_default=False,
            callback=not_empty,
        ),
    ] = None,
    format: FormatOption = OutputFormat.text,
) -> int:
    """Instances of the organisation and their progress, soonest due first.

    Examples:

      seqctl status --status active --assigned-to sam@demo.example

      seqctl status --restaurant "Luigi's Trattoria"

      seqctl status 6cd7c592   # one instance, by short id: its steps and active message
    """
    from ..runtime.status import instance_detail, list_instances
    from . import instance_views as views

    if overdue_after is not None:
        state(ctx).flags["overdue_after"] = overdue_after
    settings = state(ctx).settings
    zone = settings.zone
    grace = settings.overdue_grace
    if instance is not None:
        if any(v is not None for v in (restaurant, template, status, assigned_to)):
            raise UsageError(
                "filters do not apply to a single instance", hint="give either INSTANCE or filters"
            )
        with _transaction(ctx) as context:
            detail = instance_detail(context, instance, overdue_after=grace)
        _emit(format, views.detail_lines(detail, zone), views.detail_json(detail, zone))
        return 0
    with _transaction(ctx) as context:
        report = list_instances(
            context,
            restaurant=restaurant,
            template=template,
            status=[s.value for s in status or []],
            assigned_to=assigned_to,
            limit=limit or None,
            overdue_after=grace,
        )
    _emit(format, views.status_lines(report, zone), views.status_json(report, zone))
    if format is OutputFormat.text and len(report.rows) < report.total:
        typer.echo(
            f"showing {len(report.rows)} of {report.total} instances; --limit 0 shows all", err=True
        )
    return 0


def _lifecycle(ctx: typer.Context, action: str, ids: list[str], format: OutputFormat) -> int:
    from ..runtime.lifecycle import transition
    from . import instance_views as views

    settings = state(ctx).settings
    with _transaction(ctx) as context:
        result = transition(context, ids, action)
    _emit(
        format,
        views.transition_lines(result, settings.zone),
        views.transition_json(result, settings.zone),
    )
    return 0


def _lifecycle_command(action: str) -> None:
    """Registers ``seqctl ACTION INSTANCE…`` for one transition of ``lifecycle.RULES``."""

    def command(
        ctx: typer.Context, instances: InstancesArg, format: FormatOption = OutputFormat.text
    ) -> int:
        return _lifecycle(ctx, action, instances, format)

    command.__name__ = action
    # an instance's short id, as `seqctl status` shows it (a paused one for resume)
    instance = "0c4f7e1b" if action == "resume" else "6cd7c592"
    command.__doc__ = f"{LIFECYCLE_HELP[action]}\n\nExample:\n\n  seqctl {action} {instance}\n"
    app.command(action)(command)


# the help of each lifecycle command: lifecycle.RULES' summaries, written here too so that
# building the CLI does not import the library (a test keeps the two equal)
LIFECYCLE_HELP = {
    "pause": "Pause active instances: nothing moves on until they are resumed.",
    "resume": "Resume paused instances; the active task's due date moves by the time spent paused.",
    "cancel": "Cancel active or paused instances; their open tasks are cancelled (kept as "
    "history).",
    "finish": "Finish active or paused instances: the active task completed, pending ones "
    "cancelled.",
}
for _action in LIFECYCLE_HELP:
    _lifecycle_command(_action)


task_app = typer.Typer(
    help="Complete or skip sequence tasks; their sequences move on.\n\n"
    'Examples:\n\n  seqctl task complete --restaurant "Luigi\'s Trattoria"\n\n'
    "  seqctl task skip --instance 6cd7c592",
    no_args_is_help=True,
)
app.add_typer(task_app, name="task")


def _tasks(
    ctx: typer.Context,
    ids: list[str] | None,
    action: str,
    format: OutputFormat,
    current: tuple[str | None, str | None, str | None] = (None, None, None),
) -> int:
    from ..runtime.current_task import active_task
    from ..runtime.progression import finish_tasks
    from . import instance_views as views

    instance, restaurant, template = current
    if ids and (instance or restaurant or template):
        raise UsageError(
            "give task ids or --instance/--restaurant, not both",
            hint="--instance and --restaurant mean the active task of that sequence",
        )
    if not ids and not (instance or restaurant or template):
        raise UsageError(
            "no task given",
            hint="give task ids, or --instance ID, or --restaurant NAME [--template T]",
        )
    settings = state(ctx).settings
    with _transaction(ctx) as context:
        if not ids:
            ids = [
                active_task(
                    context.conn,
                    context.org_id,
                    instance=instance,
                    restaurant=restaurant,
                    template=template,
                )
            ]
        outcomes = finish_tasks(context, ids, action)
    _emit(
        format, views.task_lines(outcomes, settings.zone), views.task_json(outcomes, settings.zone)
    )
    return 0


def _task_command(action: str, help_text: str, examples: tuple[str, ...]) -> None:
    """Registers ``seqctl task ACTION``: complete or skip tasks (``progression``)."""

    def command(
        ctx: typer.Context,
        tasks: TasksArg = None,
        instance: InstanceOfTask = None,
        restaurant: RestaurantOfTask = None,
        template: TemplateOfTask = None,
        format: FormatOption = OutputFormat.text,
    ) -> int:
        return _tasks(ctx, tasks, action, format, (instance, restaurant, template))

    command.__name__ = f"task_{action}"
    command.__doc__ = f"{help_text}\n\nExamples:\n\n" + "\n\n".join(
        f"  seqctl task {action} {example}" for example in examples
    )
    task_app.command(action)(command)


_task_command(
    "complete",
    "Complete tasks; the next step of each sequence becomes active (after its delay).",
    ('--restaurant "Luigi\'s Trattoria"', "--instance 6cd7c592", "5d2c81aa 77aa0f3e"),
)
_task_command(
    "skip",
    "Skip (cancel) tasks; the sequence moves on as if they were done.",
    ('--restaurant "Luigi\'s Trattoria" --template restaurant-onboarding', "5d2c81aa"),
)


@app.command("advance")
def advance(
    ctx: typer.Context,
    all_organisations: Annotated[
        bool,
        typer.Option("--all-organisations", help="Reconcile every organisation, not just --org."),
    ] = False,
    format: FormatOption = OutputFormat.text,
) -> int:
    """Move on every active instance whose active task was completed or cancelled elsewhere.

    Safe to run from cron and concurrently (instances another run holds are skipped).

    Example, as a crontab line's command (*/5 * * * *: every five minutes):

      seqctl advance --all-organisations
    """
    from ..runtime.progression import advance as reconcile
    from . import instance_views as views

    settings = state(ctx).settings
    with _transaction(ctx, all_organisations=all_organisations) as context:
        report = reconcile(context)
    _emit(
        format,
        views.advance_lines(report, settings.zone),
        views.advance_json(report, settings.zone),
    )
    return 0

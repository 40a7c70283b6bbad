"""The Typer application, its global options, output helpers and the error-to-exit-code map.

Exit codes: 0 success; 1 failure; 2 changes pending (plan --detailed-exitcode);
3 database unreachable or not migrated; 64 usage error.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from .. import __version__
from ..config import Settings, load_settings, mask_url, redact
from ..errors import DatabaseUnavailable, SeqctlError, UsageError
from ..inert import inert, inert_text

if TYPE_CHECKING:
    from ..db.connection import Database

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CHANGES = 2
EXIT_USAGE = 64

HELP = """Task sequences as code for a restaurant-sales CRM on PostgreSQL.

Examples:

  seqctl validate sequences/

  seqctl plan --org "Demo Restaurant Group" --format markdown

  seqctl sync sequences/

  seqctl apply --template restaurant-onboarding --restaurant "Luigi's Trattoria"

  seqctl status --status active
"""

app = typer.Typer(
    name="seqctl",
    help=HELP,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


@dataclass
class State:
    """What the global options gave; settings are resolved when a command needs them."""

    flags: dict[str, Any] = field(default_factory=dict)
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.flags)
        return self._settings


_debug = False


def not_empty(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
    """Option callback: an empty (or blank) name or id is a usage error naming the option,
    never "not given" (which would turn a feature off) and never a lookup of ''."""
    values = value if isinstance(value, list | tuple) else [value]
    if any(isinstance(v, str) and not v.strip() for v in values):
        option = param.param_type_name == "option" and param.opts
        name = param.opts[0] if option else str(param.name or "argument").upper()
        raise UsageError(f"{name} is empty", hint=f"give a value for {name}, or leave it out")
    return value


# the template a command starts or moves: one definition for apply and migrate
TemplateOption = Annotated[
    str,
    typer.Option(
        "--template",
        "-t",
        help="Template key, name or UUID.",
        show_default=False,
        callback=not_empty,
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"seqctl {__version__}")
        raise typer.Exit()


@app.callback()
def global_options(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            callback=not_empty,
            help="PostgreSQL URL (postgres:// or postgresql://). Env: SEQCTL_DATABASE_URL, "
            "then DATABASE_URL; or database_url in seqctl.toml. Default: the embedded server.",
            show_default=False,
        ),
    ] = None,
    org: Annotated[
        str | None,
        typer.Option(
            "--org", callback=not_empty, help="Organisation UUID or exact name. Env: SEQCTL_ORG."
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            callback=not_empty,
            help="IANA time zone for dates and calendar days (default UTC).",
        ),
    ] = None,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as-user",
            callback=not_empty,
            help="Act as this user (email or UUID). Env: SEQCTL_USER.",
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks of unexpected errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    global _debug
    _debug = debug
    ctx.obj = State(
        flags={
            "database_url": database_url,
            "org": org,
            "timezone": timezone,
            "user": as_user,
            "debug": debug,
        }
    )


def state(ctx: typer.Context) -> State:
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    return root.obj


# -- output ---------------------------------------------------------------------------


def out(text: str = "", *, colour: bool = False) -> None:
    """Data, to stdout, inert: control characters in it are shown escaped (``colour``: keep
    the SGR colours a renderer painted)."""
    typer.echo(inert_text(text, keep_colour=colour), color=colour or None)


def err(text: str = "", *, colour: bool = False) -> None:
    """Diagnostics, to stderr, inert like :func:`out`."""
    typer.echo(inert_text(text, keep_colour=colour), err=True, color=colour or None)


def emit_json(payload: dict[str, Any]) -> None:
    document = {"format_version": "1", **payload}
    out(json.dumps(document, indent=2, ensure_ascii=False, default=str))


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty() and os.environ.get("CI", "").lower() not in ("true", "1")


def colour_for(stream: TextIO) -> bool:
    """Colours on ``stream``: only a terminal, never under ``NO_COLOR`` (no-color.org) or CI."""
    if os.environ.get("NO_COLOR"):
        return False
    return stream.isatty() and os.environ.get("CI", "").lower() not in ("true", "1")


# -- entry point ----------------------------------------------------------------------


def report_error(error: SeqctlError) -> None:
    """``error: …`` and ``hint: …`` on stderr, inert and with any known password masked."""
    err(f"error: {redact(error.message, patterns=False)}")
    if error.hint:
        err(f"hint: {redact(error.hint, patterns=False)}")


def run() -> int:
    """The ``seqctl`` program (its entry point and ``python -m seqctl``): :func:`main`, then
    no last sweep of the heap by the exiting interpreter.

    ``gc.freeze()`` moves every object the command made out of the collector's reach: a
    process about to end has nothing to reclaim, and the final collection walked all of
    them (a tenth of a second after an html report, whose matplotlib figures are tens of
    thousands of objects). Not in :func:`main`, which tests call in-process many times.
    """
    code = main()
    gc.freeze()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run seqctl; return the exit code (never raises for user errors)."""
    from typer.main import get_command

    from . import commands  # noqa: F401  (registers the commands)
    from .argv import hoist_global_options, keep_examples_whole, nearest_option, tidy_metavars

    command = get_command(app)
    tidy_metavars(command)
    keep_examples_whole(command)
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        _check_arguments(args)
        args = hoist_global_options(command, args)
        result = command.main(args=args, prog_name="seqctl", standalone_mode=False)
    except SeqctlError as error:
        report_error(error)
        return error.exit_code
    except typer.Abort:
        err("aborted")
        return 130
    except SystemExit as done:  # --show-completion / --install-completion exit when done
        return done.code if isinstance(done.code, int) else EXIT_OK if done.code is None else 1
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    except typer.TyperException as error:  # click's usage errors, vendored by Typer
        given = getattr(error, "option_name", None)
        if isinstance(given, str) and hasattr(error, "possibilities"):  # a mistyped option
            error.possibilities = nearest_option(command, getattr(error, "ctx", None), given)
        _show_usage_error(error)
        code = getattr(error, "exit_code", EXIT_USAGE)
        return EXIT_USAGE if code == 2 else int(code)
    except Exception as error:  # a bug: say so, without leaking secrets
        if _debug:
            err(redact(traceback.format_exc()))
        err(f"internal error: {type(error).__name__}: {redact(str(error))}")
        err("hint: run with --debug for a traceback, and report it")
        return EXIT_FAILURE
    return result if isinstance(result, int) else EXIT_OK


def _check_arguments(args: Sequence[str]) -> None:
    """Arguments that are not text (NUL, bytes that are not UTF-8) are usage errors."""
    for position, arg in enumerate(args, 1):
        problem = "contains a NUL character" if "\x00" in arg else None
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            problem = "is not valid UTF-8"
        if problem:  # the value itself is not shown: it may be a password
            previous = args[position - 2] if position > 1 else ""
            option = (
                arg.split("=", 1)[0]
                if arg.startswith("--") and "=" in arg
                else previous
                if previous.startswith("-")
                else ""
            )
            of = f" (the value of {inert(option[:40])})" if option else ""
            raise UsageError(
                f"argument {position}{of} {problem}", hint="give names and ids as plain text"
            )


def _show_usage_error(error: Exception) -> None:
    """click's usage message, but inert and without secrets (it may quote an option's value)."""
    context = getattr(error, "ctx", None)
    if context is not None:
        err(context.get_usage())
        help_option = next(iter(context.help_option_names), "--help")
        err(f"Try '{context.command_path} {help_option}' for help.")
        err("")
    format_message = getattr(error, "format_message", None)
    message = format_message() if callable(format_message) else str(error)
    err(f"Error: {redact(message)}")


# -- database access for commands -----------------------------------------------------


@contextlib.contextmanager
def open_db(
    ctx: typer.Context,
    *,
    require_schema: bool = True,
    migrate_embedded: bool = True,
    acting_user: bool = False,
) -> Iterator[Database]:
    """The command's database; checks that seqctl's migrations are applied.

    The check runs on the command's first connection (one connection per command). The
    embedded server is migrated to head instead, except for the commands that manage
    migrations themselves (``db upgrade``/``db downgrade``). A command that runs
    under row level security as the acting user says so with ``acting_user=True``; every
    other command refuses an acting user (exit 64) rather than silently ignoring it.
    """
    from ..db.connection import open_database

    settings = state(ctx).settings
    if settings.user and not acting_user:
        raise UsageError(
            f"`{ctx.command_path}` cannot act as user {settings.user!r}: it does not run "
            "under row level security",
            hint="leave out --as-user for this command (and unset SEQCTL_USER, or remove "
            "user from seqctl.toml)",
        )
    source = database_url_source(state(ctx).flags)
    if source == "DATABASE_URL":  # an application's variable: say which database this is
        err(f"seqctl: using the database of DATABASE_URL ({mask_url(settings.database_url or '')})")
    try:
        with open_database(
            settings, notice=err, migrate_embedded=migrate_embedded, check_schema=require_schema
        ) as db:
            yield db
    except DatabaseUnavailable as error:
        if source and error.hint and error.hint.startswith("check that the server is running"):
            error.hint = (
                "check that the server is running and that the host, port, user, password "
                f"and database name of {source} are right"
            )
        raise


def database_url_source(flags: dict[str, Any]) -> str | None:
    """Where the database URL comes from, named for messages (spec §8), or None (embedded)."""
    from ..config import CONFIG_FILE, read_config_file

    if flags.get("database_url") is not None:
        return "--database-url"
    for variable in ("SEQCTL_DATABASE_URL", "DATABASE_URL"):
        if variable in os.environ:
            return variable
    if "database_url" in read_config_file(Path.cwd() / CONFIG_FILE):
        return "database_url in seqctl.toml"
    return None

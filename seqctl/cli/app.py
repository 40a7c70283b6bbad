"""The Typer application, its global options, output helpers and the error-to-exit-code map.

Exit codes: 0 success; 1 failure; 2 changes pending (plan --detailed-exitcode);
3 database unreachable or not migrated; 64 usage error.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .. import __version__
from ..config import Settings, load_settings, mask_url
from ..errors import SeqctlError

if TYPE_CHECKING:
    from ..database import Database

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CHANGES = 2
EXIT_UNAVAILABLE = 3
EXIT_USAGE = 64

HELP = """Task sequences as code for a restaurant-sales CRM on PostgreSQL.

Examples:

  seqctl validate sequences/

  seqctl plan --org "Acme Foods" --format markdown

  seqctl sync sequences/

  seqctl apply --template restaurant-onboarding --restaurant "Luigi's Trattoria"

  seqctl status --status active
"""

app = typer.Typer(
    name="seqctl",
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
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
            help="PostgreSQL URL (postgres:// or postgresql://). Env: SEQCTL_DATABASE_URL, "
            "then DATABASE_URL; or database_url in seqctl.toml. Default: the embedded server.",
            show_default=False,
        ),
    ] = None,
    org: Annotated[
        str | None,
        typer.Option("--org", help="Organisation UUID or exact name. Env: SEQCTL_ORG."),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone", help="IANA time zone for dates and calendar days (default UTC)."
        ),
    ] = None,
    as_user: Annotated[
        str | None,
        typer.Option("--as-user", help="Act as this user (email or UUID). Env: SEQCTL_USER."),
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


def out(text: str = "") -> None:
    """Data, to stdout."""
    typer.echo(text)


def err(text: str = "") -> None:
    """Diagnostics, to stderr."""
    typer.echo(text, err=True)


def emit_json(payload: dict[str, Any]) -> None:
    document = {"format_version": "1", **payload}
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False, default=str))


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty() and os.environ.get("CI", "").lower() not in ("true", "1")


# -- entry point ----------------------------------------------------------------------


def report_error(error: SeqctlError) -> None:
    err(f"error: {error.message}")
    if error.hint:
        err(f"hint: {error.hint}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run seqctl; return the exit code (never raises for user errors)."""
    from typer.main import get_command

    from . import commands  # noqa: F401  (registers the commands)

    command = get_command(app)
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = command.main(args=args, prog_name="seqctl", standalone_mode=False)
    except SeqctlError as error:
        report_error(error)
        return error.exit_code
    except typer.Abort:
        err("aborted")
        return 130
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    except typer.TyperException as error:  # click's usage errors, vendored by Typer
        show = getattr(error, "show", None)
        if callable(show):
            show()
        else:
            err(f"error: {error}")
        code = getattr(error, "exit_code", EXIT_USAGE)
        return EXIT_USAGE if code == 2 else int(code)
    except Exception as error:  # a bug: say so, without leaking secrets
        if _debug:
            err(_redact(traceback.format_exc()))
        err(f"internal error: {type(error).__name__}: {_redact(str(error))}")
        err("hint: run with --debug for a traceback, and report it")
        return EXIT_FAILURE
    return result if isinstance(result, int) else EXIT_OK


def _redact(text: str) -> str:
    """Mask any database URL or password that made it into an exception text."""
    import re

    def mask(match: re.Match[str]) -> str:
        return mask_url(match.group(0))

    text = re.sub(r"postgres(?:ql)?(?:\+\w+)?://\S+", mask, text)
    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", text, flags=re.IGNORECASE)


# -- database access for commands -----------------------------------------------------


@contextlib.contextmanager
def open_db(
    ctx: typer.Context, *, require_schema: bool = True, migrate_embedded: bool = True
) -> Iterator[Database]:
    """The command's database; checks that seqctl's migrations are applied.

    The embedded server is migrated to head when it starts, except for the commands that
    manage migrations themselves (``db upgrade``/``db downgrade``).
    """
    from ..database import open_database, require_migrated

    settings = state(ctx).settings
    with open_database(settings, notice=err, migrate_embedded=migrate_embedded) as db:
        if require_schema:
            with db.connect() as conn:
                require_migrated(conn, db.url)
        yield db

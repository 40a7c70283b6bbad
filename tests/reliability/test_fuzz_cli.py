"""Fuzzing every name and id option of every command (found by walking the command tree, so a
new command is covered without touching this file): whatever the string, seqctl exits 0, 1, 3
or 64 with a message, never a traceback or an "internal error"."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from ..acceptance.sync_helpers import write_template
from ..conftest import Result
from ..db.sequences_helpers import LUIGI, S, make_template

Cli = Callable[..., Result]
ALLOWED_EXIT_CODES = {0, 1, 3, 64}
# options that are not names or ids: a URL is fuzzed by its own tests (a random one could name
# a host to connect to); the rest are paths, numbers, flags and choices (not STRING typed)
NOT_IDENTIFIERS = {"database_url"}
# a value for a required parameter that is not the one being fuzzed
FILLERS = {
    "template": "Alpha Flow",
    "restaurant": "Luigi's Trattoria",
    "instances": "00000000-0000-4000-8000-000000000001",
    "tasks": "00000000-0000-4000-8000-000000000001",
}
# the commands a global option (--org, --as-user, --timezone) is fuzzed with
GLOBAL_WITH = [
    ["status"],
    ["plan"],
    ["sync", "--dry-run"],
    ["export", "--out", "exported"],
    ["apply", "-t", "Alpha Flow", "-r", "Luigi's Trattoria", "--dry-run"],
    ["advance"],
    ["pause", "00000000-0000-4000-8000-000000000001"],
    ["db", "current"],
    ["validate"],
]


def _command_tree() -> Any:
    from typer.main import get_command

    from seqctl.cli import commands  # noqa: F401  (registers the commands)
    from seqctl.cli.app import app

    return get_command(app)


def _leaves(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        return [(path, command)]
    found = []
    for name, sub in sorted(subcommands.items()):
        found += _leaves(sub, (*path, name))
    return found


def _is_identifier(param: Any) -> bool:
    """A name or id: typed ``str`` or ``list[str]`` (paths, numbers, flags and choices are not):
    the plain string parameter type (``StringParamType``)."""
    return param.name not in NOT_IDENTIFIERS and type(param.type).__name__ == "StringParamType"


def _cases() -> list[tuple[tuple[str, ...], str]]:
    cases = []
    for path, command in _leaves(_command_tree()):
        for param in command.params:
            if _is_identifier(param):
                cases.append((path, param.name))
    return cases


def _global_options() -> list[str]:
    return [p.name for p in _command_tree().params if _is_identifier(p)]


def _param(path: tuple[str, ...], name: str) -> Any:
    command = _command_tree()
    for part in path:
        command = command.commands[part]
    return command, next(p for p in command.params if p.name == name)


def _arguments(path: tuple[str, ...], fuzzed: str, value: str) -> list[str]:
    """``seqctl PATH …`` with ``value`` for the fuzzed parameter and fillers for the others
    that are required."""
    command, _ = _param(path, fuzzed)
    options: list[str] = []
    positionals: list[str] = []
    for param in command.params:
        is_option = param.param_type_name == "option"
        if param.name == fuzzed:
            chosen = value
        elif param.required:
            chosen = FILLERS.get(str(param.name), "x")
        else:
            continue
        if is_option:
            options.append(f"{param.opts[0]}={chosen}")
        else:
            positionals.append(chosen)
    return [*path, *options, "--", *positionals] if positionals else [*path, *options]


def _uuid_spellings(value: uuid.UUID) -> list[str]:
    text = str(value)
    return [text, text.upper(), value.hex, f"{{{text}}}", f"urn:uuid:{text}", text[:-1] + "g"]


IDENTIFIERS = st.one_of(
    st.text(max_size=60),
    st.text(st.characters(codec=None, categories=["Cc", "Cs", "Zs", "Zl", "Cf"]), max_size=20),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\x00b",
            "caf\udce9",
            "\x1b]0;title\x07",
            "\r\nerror: fake",
            "-",
            "--",
            "-x",
            "--help",
            "urn:uuid:",
            "{}",
            "head",
            "base",
            "-1",
            "+1",
            "999",
            "%s%n",
            "'; DROP TABLE sequence_templates; --",
            "x" * 100_000,
            "9" * 400,
            "Alpha Flow",
            "Luigi's Trattoria",
            "alex@demo.example",
            "ALEX@DEMO.EXAMPLE",
            "Demo Restaurant Group",
            LUIGI,
        ]
    ),
    st.uuids().flatmap(lambda u: st.sampled_from(_uuid_spellings(u))),
)


def check(result: Result, args: list[str]) -> None:
    assert result.exit_code in ALLOWED_EXIT_CODES, (args[:8], result)
    assert "Traceback" not in result.stderr, (args[:8], result.stderr[-2000:])
    for stream in (result.stdout, result.stderr):
        assert "internal error" not in stream, (args[:8], result.stderr[-2000:])


@pytest.fixture
def fuzz_db(database_url: str, engine: Engine, demo_org: str) -> str:
    """Demo data, a template and a file to sync: the commands get past their first lookup."""
    make_template(engine, demo_org, "Alpha Flow", [S("Call them"), S("Email them")])
    write_template("flow", "Flow From File")
    return database_url


FUZZ_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize(
    ("path", "name"), _cases(), ids=lambda v: "-".join(v) if isinstance(v, tuple) else str(v)
)
@FUZZ_SETTINGS
@given(value=IDENTIFIERS)
def test_every_identifier_option_of_every_command(
    cli: Cli, fuzz_db: str, path: tuple[str, ...], name: str, value: str
) -> None:
    args = ["--database-url", fuzz_db, *_arguments(path, name, value)]
    check(cli(*args), args)


@pytest.mark.parametrize("name", _global_options())
@settings(FUZZ_SETTINGS, max_examples=30)
@given(value=IDENTIFIERS, command=st.sampled_from(GLOBAL_WITH))
def test_every_global_identifier_option(
    cli: Cli, fuzz_db: str, name: str, value: str, command: list[str]
) -> None:
    option = next(p for p in _command_tree().params if p.name == name).opts[0]
    args = ["--database-url", fuzz_db, f"{option}={value}", *command]
    check(cli(*args), args)


def test_the_walk_finds_the_identifier_options() -> None:
    """The tree walk sees the options that matter (so a refactoring cannot silently empty it)."""
    found = {(" ".join(path), name) for path, name in _cases()}
    for expected in (
        ("apply", "template"),
        ("apply", "restaurant"),
        ("apply", "assign_to"),
        ("status", "instance"),
        ("status", "assigned_to"),
        ("pause", "instances"),
        ("task complete", "tasks"),
        ("db upgrade", "revision"),
    ):
        assert expected in found, (expected, sorted(found))
    assert {"org", "as_user", "timezone"} <= set(_global_options())

"""Help and completion (spec §8): completion options, clean metavars in every command's help."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from ..conftest import Result
from .help_examples import command_paths, examples

Cli = Callable[..., Result]

COMMANDS = [
    [],
    ["validate"],
    ["plan"],
    ["sync"],
    ["export"],
    ["apply"],
    ["status"],
    ["pause"],
    ["resume"],
    ["cancel"],
    ["finish"],
    ["task"],
    ["task", "complete"],
    ["task", "skip"],
    ["advance"],
    ["db"],
    ["db", "upgrade"],
    ["db", "downgrade"],
    ["db", "current"],
    ["db", "sql"],
    ["demo"],
    ["schema"],
    ["restaurants"],
    ["templates"],
    ["users"],
]
UNCLEAN = re.compile(r"<[a-z][^>]*>|\{[a-z_]+\}|<int range>|\{[A-Z_]+\}\.\.\.")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "seqctl")
def test_help_has_clean_metavars(command: list[str], cli: Cli) -> None:
    result = cli(*command, "--help")
    assert result.exit_code == 0, result.stderr
    assert not UNCLEAN.findall(result.stdout), result.stdout


def test_completion_options(cli: Cli) -> None:
    assert "--install-completion" in cli("--help").stdout
    result = cli("--show-completion", "bash")
    assert result.exit_code == 0
    assert "_SEQCTL_COMPLETE" in result.stdout or "complete" in result.stdout


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "seqctl")
def test_every_command_has_an_example_of_itself(path: tuple[str, ...]) -> None:
    """Spec §8: every command's --help has at least one example (each one is run on the demo
    data by tests/daily/test_help_examples.py), printed whole on one line."""
    found = examples(path)
    command = " ".join(("seqctl", *path))
    assert any(f" {example} ".startswith(f" {command} ") for example in found) or (
        not path and found
    ), (command, found)

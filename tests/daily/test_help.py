"""Help and completion (spec §8): completion options, clean metavars in every command's help."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from ..conftest import Result

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

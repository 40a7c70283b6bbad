"""Global options before or after the subcommand (spec §8), and did-you-mean for options."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from seqctl.db.demo import ORGANISATION

from ..conftest import Result

Cli = Callable[..., Result]


def test_global_options_after_the_subcommand(database_url: str, demo_org: str, cli: Cli) -> None:
    before = cli("--database-url", database_url, "--org", ORGANISATION, "status")
    after = cli("status", "--org", ORGANISATION, "--database-url", database_url)
    assert before.exit_code == after.exit_code == 0, after.stderr
    assert before.stdout == after.stdout
    attached = cli("status", f"--org={ORGANISATION}", f"--database-url={database_url}")
    assert attached.exit_code == 0, attached.stderr


def test_nested_subcommand_and_flags(database_url: str, cli: Cli) -> None:
    result = cli("db", "current", "--database-url", database_url, "--debug")
    assert result.exit_code == 0, result.stderr


def test_flag_after_the_subcommand_beats_env(
    database_url: str, demo_org: str, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEQCTL_ORG", "No Such Organisation")
    result = cli("status", "--database-url", database_url, "--org", ORGANISATION)
    assert result.exit_code == 0, result.stderr
    # the last one given wins, as before the subcommand
    result = cli("--org", "No Such", "status", "--database-url", database_url, "--org", demo_org)
    assert result.exit_code == 0, result.stderr


def test_option_values_and_double_dash_are_not_moved(
    database_url: str, demo_org: str, cli: Cli
) -> None:
    # "--org" is the value of --restaurant here, a restaurant name that does not exist
    result = cli("--database-url", database_url, "status", "--restaurant", "--org")
    assert result.exit_code == 1
    assert "'--org'" in result.stderr
    # after "--" nothing is an option
    result = cli("--database-url", database_url, "status", "--", "--org", "x")
    assert result.exit_code == 64
    assert "unexpected extra argument" in result.stderr


def test_mistyped_option_suggests_over_the_whole_command_line(cli: Cli) -> None:
    result = cli("status", "--orgg", "x")
    assert result.exit_code == 64
    assert "--org" in result.stderr.split("No such option")[1]
    result = cli("status", "--restaurnt", "x")
    assert result.exit_code == 64
    assert "--restaurant" in result.stderr
    result = cli("status", "--databse-url", "x")
    assert "--database-url" in result.stderr

"""Global behaviour of the CLI: exit codes, database errors without secrets, db commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from seqctl import __version__

from ..conftest import Result, create_database, drop_database, url_with_database

Cli = Callable[..., Result]


def test_version(cli: Cli) -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"seqctl {__version__}"


def test_every_command_has_help(cli: Cli) -> None:
    from typer.main import get_command

    from seqctl.cli import commands  # noqa: F401
    from seqctl.cli.app import app

    group = get_command(app)
    names = list(group.commands)  # type: ignore[attr-defined]
    assert "db" in names and "demo" in names
    for name in names:
        result = cli(name, "--help")
        assert result.exit_code == 0, name
        assert "Usage:" in result.stdout
        command = group.commands[name]  # type: ignore[attr-defined]
        assert (command.help or "").strip(), f"{name} has no help text"


@pytest.mark.parametrize(
    "args",
    [
        ["--no-such-flag"],
        ["db", "upgrade", "1", "2", "3"],
        ["no-such-command"],
        ["db", "current", "--format", "yaml"],
        ["db", "sql", "nonsense"],
    ],
)
def test_usage_errors_exit_64(cli: Cli, args: list[str]) -> None:
    result = cli(*args)
    assert result.exit_code == 64, result
    assert result.stderr


def test_unreachable_database_exits_3_without_password(cli: Cli) -> None:
    url = "postgresql://alice:s3cret-pw@127.0.0.1:1/crm"
    result = cli("--database-url", url, "db", "current")
    assert result.exit_code == 3
    assert "s3cret-pw" not in result.stdout + result.stderr
    assert "127.0.0.1:1/crm" in result.stderr
    assert "hint:" in result.stderr


def test_wrong_password_is_not_echoed(cli: Cli, server_url: str) -> None:
    # trust authentication accepts any password; a wrong user is the closest failure here
    url = url_with_database(server_url, "no_such_database_here").replace(
        "postgresql://postgres@", "postgresql://postgres:hunter2@"
    )
    result = cli("--database-url", url, "db", "current")
    assert result.exit_code == 3
    assert "hunter2" not in result.stdout + result.stderr
    assert "no_such_database_here" in result.stderr


def test_bad_url_scheme_is_a_usage_error(cli: Cli) -> None:
    result = cli("--database-url", "mysql://root:pw@localhost/db", "db", "current")
    assert result.exit_code == 64
    assert "pw" not in result.stderr.replace("postgresql", "")
    assert "mysql" in result.stderr


def test_unmigrated_database_exits_3_and_says_to_upgrade(cli: Cli, empty_database_url: str) -> None:
    result = cli("--database-url", empty_database_url, "demo")
    assert result.exit_code == 3
    assert "seqctl db upgrade" in result.stderr


def test_db_upgrade_current_downgrade(cli: Cli, server_url: str) -> None:
    name = create_database(server_url)
    url = url_with_database(server_url, name).replace("postgresql://", "postgres://")
    try:
        assert cli("--database-url", url, "db", "current").stdout.strip() == "base"
        assert cli("--database-url", url, "db", "upgrade", "002").exit_code == 0
        current = cli("--database-url", url, "db", "current", "--format", "json")
        assert json.loads(current.stdout) == {
            "format_version": "1",
            "revision": "002",
            "head": "005",
            "up_to_date": False,
        }
        assert cli("--database-url", url, "db", "upgrade").exit_code == 0
        assert cli("--database-url", url, "db", "current").stdout.strip() == "005 (head)"
        assert cli("--database-url", url, "db", "downgrade", "base").exit_code == 0
        assert cli("--database-url", url, "db", "current").stdout.strip() == "base"
    finally:
        drop_database(server_url, name)


def test_demo_is_idempotent(cli: Cli, database_url: str) -> None:
    first = cli("--database-url", database_url, "demo", "--format", "json")
    again = cli("--database-url", database_url, "demo", "--format", "json")
    assert first.exit_code == again.exit_code == 0
    assert json.loads(first.stdout)["demo"]["restaurants"] == 5


def test_settings_precedence(
    cli: Cli, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "seqctl.toml").write_text('database_url = "postgresql://u:filepw@127.0.0.1:1/x"\n')
    from_file = cli("db", "current")
    assert from_file.exit_code == 3 and "127.0.0.1:1/x" in from_file.stderr
    assert "filepw" not in from_file.stderr
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert cli("db", "current").exit_code == 0  # env beats the file
    monkeypatch.setenv("SEQCTL_DATABASE_URL", "postgresql://u:envpw@127.0.0.1:2/y")
    assert "127.0.0.1:2/y" in cli("db", "current").stderr  # SEQCTL_ beats DATABASE_URL
    assert cli("--database-url", database_url, "db", "current").exit_code == 0  # flag wins


def test_unknown_setting_in_file(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "seqctl.toml").write_text('databse_url = "x"\n')
    result = cli("db", "current")
    assert result.exit_code == 64
    assert "databse_url" in result.stderr and "database_url" in result.stderr


def test_unknown_organisation_suggests_close_names(cli: Cli, database_url: str) -> None:
    assert cli("--database-url", database_url, "demo").exit_code == 0
    result = cli("--database-url", database_url, "--org", "Demo Restaurant Grup", "status")
    assert result.exit_code == 1
    assert "no organisation named 'Demo Restaurant Grup'" in result.stderr
    assert "did you mean 'Demo Restaurant Group'?" in result.stderr

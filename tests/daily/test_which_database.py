"""Which database (spec §8): a URL from DATABASE_URL is named on stderr; the connection
hint names the setting the URL came from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ..conftest import Result

Cli = Callable[..., Result]
NOWHERE = "postgresql://postgres:sekrit@127.0.0.1:5432/seqctl_daily_no_such_db"


def test_database_url_from_the_application_variable(
    database_url: str, demo_org: str, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    result = cli("status")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("seqctl: using the database of DATABASE_URL (")
    monkeypatch.setenv("SEQCTL_DATABASE_URL", database_url)
    assert "DATABASE_URL" not in cli("status").stderr  # seqctl's own variable: no notice


@pytest.mark.parametrize(
    ("how", "named"),
    [
        ("flag", "--database-url"),
        ("SEQCTL_DATABASE_URL", "SEQCTL_DATABASE_URL"),
        ("DATABASE_URL", "DATABASE_URL"),
        ("file", "database_url in seqctl.toml"),
    ],
)
def test_connection_hint_names_the_source(
    how: str, named: str, cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    args: list[str] = []
    if how == "flag":
        args = ["--database-url", NOWHERE]
    elif how == "file":
        (tmp_path / "seqctl.toml").write_text(f'database_url = "{NOWHERE}"\n')
    else:
        monkeypatch.setenv(how, NOWHERE)
    result = cli(*args, "status")
    assert result.exit_code == 3
    assert f"database name of {named} are right" in result.stderr
    assert "sekrit" not in result.stderr

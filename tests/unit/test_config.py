from __future__ import annotations

from pathlib import Path

import pytest

from seqctl.config import describe_host, load_settings, mask_url, sqlalchemy_url
from seqctl.errors import ConfigError


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgres://u:p%40ss@h/db?sslmode=require", "postgres://u:***@h/db?sslmode=require"),
        ("postgresql://u@h/db?password=pw&x=1", "postgresql://u@h/db?password=***&x=1"),
        ("postgresql://h/db", "postgresql://h/db"),
        ("postgresql://u:p:w@h/db", "postgresql://u:***@h/db"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_sqlalchemy_url_accepts_both_schemes() -> None:
    assert sqlalchemy_url("postgres://u@h/db").startswith("postgresql+psycopg://")
    assert sqlalchemy_url("postgresql://u@h/db").startswith("postgresql+psycopg://")


def test_describe_host_has_no_credentials() -> None:
    assert describe_host("postgresql://u:pw@db.example:6543/crm") == "db.example:6543/crm"


def test_precedence(tmp_path: Path) -> None:
    (tmp_path / "seqctl.toml").write_text('org = "file"\ntimezone = "Europe/London"\n')
    env = {"SEQCTL_ORG": "env"}
    assert load_settings({}, {}, tmp_path).org == "file"
    assert load_settings({}, env, tmp_path).org == "env"
    assert load_settings({"org": "flag"}, env, tmp_path).org == "flag"
    assert load_settings({}, env, tmp_path).timezone == "Europe/London"


def test_seqctl_table_in_file(tmp_path: Path) -> None:
    (tmp_path / "seqctl.toml").write_text("[seqctl]\nlock_timeout = 5\n")
    assert load_settings({}, {}, tmp_path).lock_timeout == 5.0


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"lock_timeout": "soon"}, "lock_timeout"),
        ({"database_url": "sqlite:///x.db"}, "unsupported database URL"),
    ],
)
def test_invalid_settings(tmp_path: Path, flags: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(flags, {}, tmp_path)

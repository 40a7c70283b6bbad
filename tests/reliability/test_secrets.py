"""No command path prints a database password: wrong password, unreachable host, bad URL,
server error, and tracebacks under --debug."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from ..conftest import Result
from .conftest import POOLER_PASSWORD

Cli = Callable[..., Result]
SECRET = "Sup3r-Secret-pw"


def assert_no_secret(result: Result, *secrets: str) -> None:
    for secret in (SECRET, *secrets):
        assert secret not in result.stdout
        assert secret not in result.stderr


def test_wrong_password(cli: Cli, pooled_url: str) -> None:
    wrong = pooled_url.replace(POOLER_PASSWORD, SECRET)
    result = cli("--database-url", wrong, "db", "current")
    assert result.exit_code == 3
    assert "password authentication failed" in result.stderr
    host = urlsplit(pooled_url).netloc.rpartition("@")[2]
    assert host in result.stderr
    assert_no_secret(result)


def test_right_password_is_never_printed(cli: Cli, pooled_url: str) -> None:
    for args in (("db", "current"), ("db", "upgrade"), ("demo",)):
        result = cli("--database-url", pooled_url, *args)
        assert result.exit_code == 0, result.stderr
        assert_no_secret(result, POOLER_PASSWORD)


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://u:{SECRET}@127.0.0.1:1/db",  # nothing listens on port 1
        f"postgresql://u:{SECRET}@no-such-host.invalid/db",
        f"postgres://u:{SECRET}@127.0.0.1:notaport/db",
        f"mysql://u:{SECRET}@127.0.0.1/db",
        f"postgresql://u@127.0.0.1:1/db?password={SECRET}",
    ],
)
def test_bad_urls(cli: Cli, url: str) -> None:
    for debug in ((), ("--debug",)):
        result = cli(*debug, "--database-url", url, "db", "current")
        assert result.exit_code in (3, 64), result
        assert result.stderr.startswith("error:") or "error:" in result.stderr
        assert "Traceback" not in result.stderr
        assert_no_secret(result)


def test_internal_error_traceback_is_redacted(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"postgresql://u:{SECRET}@127.0.0.1:1/db"

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"could not use {url} (password={SECRET})")

    monkeypatch.setattr("seqctl.db.connection.make_engine", explode)
    result = cli("--debug", "--database-url", url, "db", "current")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert "internal error: RuntimeError" in result.stderr
    assert_no_secret(result)
    quiet = cli("--database-url", url, "db", "current")
    assert "Traceback" not in quiet.stderr and "--debug" in quiet.stderr
    assert_no_secret(quiet)


def test_server_error_has_no_secret(cli: Cli, pooled_url: str) -> None:
    result = cli(
        "--database-url", pooled_url.replace("/seqctl_test", "/nonexistent_db_x"), "db", "current"
    )
    assert result.exit_code == 3
    assert_no_secret(result, POOLER_PASSWORD)

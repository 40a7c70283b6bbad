"""Fixtures for the reliability suite: a PgBouncer in transaction pooling mode."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

POOLER_PASSWORD = "pooler-Secret-42"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def pgbouncer(server_url: str) -> Iterator[str]:
    """A PgBouncer (pool_mode = transaction, like Supabase's port 6543) in front of the test
    server; yields its host:port. Skips, saying why, where it cannot run."""
    binary = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )
    if binary is None:
        pytest.skip("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    server = urlsplit(server_url)
    if not server.hostname:
        pytest.skip("the test server listens on a Unix socket only; pgbouncer needs TCP here")
    # not under pytest's tmp folder: as root, pgbouncer runs as postgres and must reach it
    folder = Path(tempfile.mkdtemp(prefix="seqctl-pgbouncer-"))
    port = _free_port()
    (folder / "users.txt").write_text(f'"postgres" "{POOLER_PASSWORD}"\n')
    (folder / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={server.hostname} port={server.port or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = md5
auth_file = {folder / "users.txt"}
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
logfile = {folder / "pgbouncer.log"}
pidfile = {folder / "pgbouncer.pid"}
"""
    )
    command = [binary, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root
        shutil.chown(folder, "postgres")
        for entry in folder.iterdir():
            shutil.chown(entry, "postgres")
        command[1:1] = ["-u", "postgres"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = folder / "pgbouncer.log"
            reason = log.read_text()[-300:] if log.exists() else f"exit {process.returncode}"
            pytest.skip(f"pgbouncer did not start: {reason}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    else:
        process.kill()
        pytest.skip("pgbouncer did not open its port within 15 s")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pooled_url(pgbouncer: str, database_url: str) -> str:
    """``database_url``, but through PgBouncer in transaction pooling mode."""
    parts = urlsplit(database_url)
    user = parts.username or "postgres"
    return urlunsplit(parts._replace(netloc=f"{user}:{POOLER_PASSWORD}@{pgbouncer}"))

"""Running seqctl as real processes, and killing them mid-transaction."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg


def seqctl_process(args: Sequence[str], cwd: Path | None = None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQCTL_")}
    env.pop("DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "seqctl", *args],
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )


def run_all(commands: Sequence[Sequence[str]], timeout: float = 120) -> list[tuple[int, str, str]]:
    """Start every command at once; wait for all; (exit code, stdout, stderr) each."""
    processes = [seqctl_process(c) for c in commands]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=timeout)
        results.append((process.returncode, out, err))
    return results


def wait_for_query(url: str, fragment: str, timeout: float = 60) -> int:
    """Wait until a seqctl backend runs a statement containing ``fragment``; its pid."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'seqctl' "
                "AND state = 'active' AND strpos(query, %s) > 0",
                (fragment,),
            ).fetchone()
            if row:
                return int(row[0])
            time.sleep(0.05)
    raise AssertionError(f"no seqctl statement containing {fragment!r} within {timeout} s")


def kill_and_wait_for_backend(process: subprocess.Popen[str], url: str, backend: int) -> None:
    """SIGKILL the client; wait until the server has ended (and rolled back) its session."""
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    deadline = time.monotonic() + 60
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if not conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (backend,)
            ).fetchone():
                return
            time.sleep(0.1)
    raise AssertionError("the killed client's session did not end")


def dump(url: str, tables: Sequence[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables, in a stable order (a logical dump for comparisons)."""
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(f"SELECT t.*::text FROM {table} t ORDER BY 1").fetchall()
            for table in tables
        }


SLOW_TRIGGER = """
CREATE FUNCTION seqctl_test_slow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep({seconds}); RETURN NULL; END $$;
CREATE TRIGGER seqctl_test_slow AFTER INSERT ON {table}
  FOR EACH STATEMENT EXECUTE FUNCTION seqctl_test_slow();
"""
DROP_SLOW_TRIGGER = """
DROP TRIGGER seqctl_test_slow ON {table}; DROP FUNCTION seqctl_test_slow();
"""


def slow_down_inserts(url: str, table: str, seconds: float) -> None:
    """Make each INSERT into ``table`` take ``seconds``; the server notices a dead client
    within 0.1 s (client_connection_check_interval) instead of after the sleep."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SLOW_TRIGGER.format(table=table, seconds=seconds))  # type: ignore[arg-type]
        dbname = conn.info.dbname
        conn.execute(f'ALTER DATABASE "{dbname}" SET client_connection_check_interval = 100')


def restore_speed(url: str, table: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(DROP_SLOW_TRIGGER.format(table=table))  # type: ignore[arg-type]

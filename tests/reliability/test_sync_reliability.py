"""sync as real processes: killed mid-transaction, racing other versions, other organisations."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
from sqlalchemy import Engine, text

from ..acceptance.sync_helpers import step, templates, write_template
from .processes import (
    dump,
    kill_and_wait_for_backend,
    restore_speed,
    run_all,
    seqctl_process,
    slow_down_inserts,
    wait_for_query,
)

TABLES = ("sequence_templates", "sequence_steps")


def _version(folder: Path, label: str, n: int = 5) -> Path:
    """A set of template files whose names and steps all carry ``label``."""
    for i in range(n):
        write_template(
            f"tpl-{i}",
            name=f"Template {i} {label}",
            steps=[step(f"Call {label}"), step(f"Mail {label}", "email", delay_value=i)],
            directory=folder,
        )
    return folder


def test_killed_sync_leaves_the_database_as_before(
    database_url: str, engine: Engine, demo_org: str, tmp_path: Path
) -> None:
    first = _version(tmp_path / "v1", "v1")
    assert run_all([["--database-url", database_url, "sync", str(first)]])[0][0] == 0
    second = _version(tmp_path / "v2", "v2", n=8)
    before = dump(database_url, TABLES)
    slow_down_inserts(database_url, "sequence_steps", 30)
    process = seqctl_process(["--database-url", database_url, "sync", str(second)])
    backend = wait_for_query(database_url, "INSERT INTO sequence_steps")
    kill_and_wait_for_backend(process, database_url, backend)
    restore_speed(database_url, "sequence_steps")
    assert dump(database_url, TABLES) == before
    again = run_all([["--database-url", database_url, "sync", str(second)]])[0]
    assert again[0] == 0, again[2]
    assert len(templates(engine)) == 8


def test_four_versions_racing_end_in_exactly_one(
    database_url: str, engine: Engine, demo_org: str, tmp_path: Path
) -> None:
    labels = ["red", "green", "blue", "gold"]
    folders = [_version(tmp_path / label, label) for label in labels]
    slow_down_inserts(database_url, "sequence_templates", 0.5)  # make the runs overlap
    results = run_all([["--database-url", database_url, "sync", str(folder)] for folder in folders])
    assert [code for code, _, _ in results] == [0] * 4, [err for _, _, err in results]
    final = templates(engine)
    winners = {
        label
        for label in labels
        for t in final.values()
        if t["name"].endswith(f" {label}")
        or any(s["name"].endswith(f" {label}") for s in t["steps"])
    }
    assert len(winners) == 1, winners  # not a mix of versions
    (winner,) = winners
    assert sorted(t["name"] for t in final.values()) == [f"Template {i} {winner}" for i in range(5)]
    plan = run_all(
        [["--database-url", database_url, "plan", "--detailed-exitcode", str(tmp_path / winner)]]
    )[0]
    assert plan[0] == 0, plan[1]


def test_syncs_of_two_organisations_do_not_wait_for_each_other(
    database_url: str, engine: Engine, demo_org: str, tmp_path: Path
) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO organisations (name) VALUES ('Second Org')"))
    folder = _version(tmp_path / "v", "v", n=2)
    with psycopg.connect(database_url) as holder:  # hold the demo organisation's sync lock
        from seqctl.sync.apply_plan import lock_key

        holder.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(demo_org),))
        started = time.monotonic()
        other = run_all(
            [["--database-url", database_url, "--org", "Second Org", "sync", str(folder)]]
        )[0]
        assert other[0] == 0, other[2]
        assert time.monotonic() - started < 20
        blocked = run_all(
            [
                [
                    "--database-url",
                    database_url,
                    "--org",
                    demo_org,
                    "sync",
                    "--lock-timeout",
                    "1",
                    str(folder),
                ]
            ]
        )[0]
        assert blocked[0] == 1
        assert "another sync" in blocked[2]

"""`apply` racing `sync` (issue 9, item 2; spec §7 "Concurrent writers never destroy work").

A prune or deactivation and an `apply` of the same template are serialised on the template
row. The interleavings are made deterministic with a *gate*: a test trigger that makes one
seqctl process wait, in the middle of its transaction, on an advisory lock the test holds;
the other process is started, the test waits until it blocks on a row lock, then opens the
gate. Everything runs as real `seqctl` processes.
"""

from __future__ import annotations

import json
import random
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import Engine, text

from ..acceptance.sync_helpers import step, write_template
from ..conftest import Result
from .processes import seqctl_process

Cli = Callable[..., Result]
GATE_KEY = 0x5E9C_0009
STEPS = [step("Call them"), step("Email them", "email", delay_value=1)]

GATE_FUNCTION = (
    "CREATE FUNCTION seqctl_test_gate() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN PERFORM pg_advisory_xact_lock_shared({GATE_KEY}); RETURN NULL; END $$"
)


@contextmanager
def gate(url: str, trigger: str) -> Iterator[None]:
    """Processes that fire ``trigger`` (``AFTER … ON table … EXECUTE FUNCTION
    seqctl_test_gate()``) wait inside their transaction until the block ends."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(GATE_FUNCTION)
        conn.execute(trigger)  # type: ignore[arg-type]
        conn.execute("SELECT pg_advisory_lock(%s)", (GATE_KEY,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (GATE_KEY,))


def wait_until_blocked(
    url: str, process: subprocess.Popen[str], *, at_gate: bool, timeout: float = 60
) -> int:
    """Wait until a seqctl backend waits on a lock: the gate (an advisory lock) or, with
    ``at_gate=False``, a row lock; returns its pid. Fails if the process ends first."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                out, err = process.communicate()
                raise AssertionError(f"exited {process.returncode} before blocking: {out}{err}")
            row = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'seqctl' AND wait_event_type = 'Lock' "
                "AND (wait_event = 'advisory') = %s",
                (at_gate,),
            ).fetchone()
            if row:
                return int(row[0])
            time.sleep(0.05)
    raise AssertionError(f"no seqctl process blocked (at_gate={at_gate}) within {timeout} s")


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def _setup(cli: Cli, engine: Engine, url: str, org: str, tmp_path: Path, n: int) -> Path:
    write_template("keep", "Keep Flow", STEPS)
    write_template("doomed", "Doomed Flow", STEPS)
    synced = cli("--database-url", url, "sync")
    assert synced.exit_code == 0, synced.stderr
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO restaurants (organisation_id, name) "
                "SELECT :org, 'Racer ' || g FROM generate_series(1, :n) g"
            ),
            {"org": org, "n": n},
        )
    listing = tmp_path / "restaurants.txt"
    listing.write_text("".join(f"Racer {i}\n" for i in range(1, n + 1)))
    return listing


def _counts(engine: Engine, key: str) -> dict[str, int]:
    """Templates with this key, their instances, tasks of the key's instances, and tasks that
    were made by a sequence but lost their instance (orphans: must stay 0)."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM sequence_templates t "
                "        WHERE t.metadata->'seqctl'->>'key' = :k),"
                " (SELECT count(*) FROM sequence_instances i JOIN sequence_templates t "
                "        ON t.id = i.sequence_template_id WHERE t.metadata->'seqctl'->>'key' = :k),"
                " (SELECT count(*) FROM tasks k JOIN sequence_instances i "
                "        ON i.id = k.sequence_instance_id JOIN sequence_templates t "
                "        ON t.id = i.sequence_template_id WHERE t.metadata->'seqctl'->>'key' = :k),"
                " (SELECT count(*) FROM tasks WHERE metadata ? 'sequence' "
                "        AND sequence_instance_id IS NULL)"
            ),
            {"k": key},
        ).one()
    return dict(zip(("templates", "instances", "tasks", "orphans"), row, strict=True))


def _apply(url: str, listing: Path, tmp_path: Path, key: str = "doomed") -> list[str]:
    return [
        "--database-url",
        url,
        "apply",
        "-t",
        key,
        "--restaurants-file",
        str(listing),
        "--format",
        "json",
    ]


def test_prune_waiting_for_an_apply_sees_its_instances_and_is_refused(
    cli: Cli, engine: Engine, demo_org: str, database_url: str, tmp_path: Path
) -> None:
    """apply first: its instances are uncommitted while `sync --prune` waits for the template;
    once they commit, the prune sees them and refuses, naming them; nothing is lost."""
    listing = _setup(cli, engine, database_url, demo_org, tmp_path, 40)
    trigger = (
        "CREATE TRIGGER seqctl_test_gate AFTER INSERT ON tasks "
        "FOR EACH STATEMENT EXECUTE FUNCTION seqctl_test_gate()"
    )
    with gate(database_url, trigger):
        apply = seqctl_process(_apply(database_url, listing, tmp_path), cwd=tmp_path)
        wait_until_blocked(database_url, apply, at_gate=True)  # instances + tasks written
        (tmp_path / "sequences" / "doomed.yaml").unlink()
        prune = seqctl_process(
            ["--database-url", database_url, "sync", "--prune", "--yes"], cwd=tmp_path
        )
        wait_until_blocked(database_url, prune, at_gate=False)
    applied, pruned = finish(apply), finish(prune)
    assert applied[0] == 0, applied[2]
    assert json.loads(applied[1])["summary"]["started"] == 40
    assert pruned[0] == 1, pruned
    assert "doomed" in pruned[2] and "instances" in pruned[2]
    assert "40 instance(s)" in pruned[2] and "Doomed Flow - Racer" in pruned[2]
    assert "Traceback" not in pruned[2]
    assert _counts(engine, "doomed") == {
        "templates": 1,
        "instances": 40,
        "tasks": 80,
        "orphans": 0,
    }


def test_apply_waiting_for_a_deactivating_sync_is_refused(
    cli: Cli, engine: Engine, demo_org: str, database_url: str, tmp_path: Path
) -> None:
    """Deactivating sync first: an apply that waited for it re-checks is_active and refuses."""
    listing = _setup(cli, engine, database_url, demo_org, tmp_path, 40)
    trigger = (
        "CREATE TRIGGER seqctl_test_gate AFTER UPDATE ON sequence_templates FOR EACH ROW "
        "WHEN (OLD.is_active AND NOT NEW.is_active) EXECUTE FUNCTION seqctl_test_gate()"
    )
    (tmp_path / "sequences" / "doomed.yaml").unlink()
    with gate(database_url, trigger):
        sync = seqctl_process(["--database-url", database_url, "sync"], cwd=tmp_path)
        wait_until_blocked(database_url, sync, at_gate=True)  # deactivated, not committed
        apply = seqctl_process(_apply(database_url, listing, tmp_path), cwd=tmp_path)
        wait_until_blocked(database_url, apply, at_gate=False)
    synced, applied = finish(sync), finish(apply)
    assert synced[0] == 0, synced[2]
    assert applied[0] == 1, applied
    assert "inactive" in applied[2] and "Doomed Flow" in applied[2]
    assert "Traceback" not in applied[2]
    assert _counts(engine, "doomed") == {"templates": 1, "instances": 0, "tasks": 0, "orphans": 0}


def test_apply_waiting_for_a_pruning_sync_says_the_template_was_deleted(
    cli: Cli, engine: Engine, demo_org: str, database_url: str, tmp_path: Path
) -> None:
    listing = _setup(cli, engine, database_url, demo_org, tmp_path, 10)
    trigger = (
        "CREATE TRIGGER seqctl_test_gate AFTER DELETE ON sequence_templates "
        "FOR EACH ROW EXECUTE FUNCTION seqctl_test_gate()"
    )
    (tmp_path / "sequences" / "doomed.yaml").unlink()
    with gate(database_url, trigger):
        prune = seqctl_process(
            ["--database-url", database_url, "sync", "--prune", "--yes"], cwd=tmp_path
        )
        wait_until_blocked(database_url, prune, at_gate=True)  # deleted, not committed
        apply = seqctl_process(_apply(database_url, listing, tmp_path), cwd=tmp_path)
        wait_until_blocked(database_url, apply, at_gate=False)
    pruned, applied = finish(prune), finish(apply)
    assert pruned[0] == 0, pruned[2]
    assert applied[0] == 1, applied
    assert "Doomed Flow" in applied[2] and "deleted" in applied[2]
    assert "Traceback" not in applied[2] and "SQLSTATE" not in applied[2]
    assert _counts(engine, "doomed") == {"templates": 0, "instances": 0, "tasks": 0, "orphans": 0}


def test_bulk_applies_racing_prunes_never_lose_an_instance(
    cli: Cli, engine: Engine, demo_org: str, database_url: str, tmp_path: Path
) -> None:
    """Real processes, no gate: in each round `apply` of many restaurants and `sync --prune`
    (the template's file removed) start together, at random offsets. Whichever wins, an apply
    that reported its instances started keeps them, and no task loses its instance."""
    n = 1500
    listing = _setup(cli, engine, database_url, demo_org, tmp_path, n)
    rng = random.Random(9)
    outcomes: list[str] = []
    for round_ in range(6):
        key = f"race-{round_}"
        write_template(key, f"Race Flow {round_}", STEPS)
        assert cli("--database-url", database_url, "sync").exit_code == 0
        (tmp_path / "sequences" / f"{key}.yaml").unlink()
        apply = seqctl_process(_apply(database_url, listing, tmp_path, key), cwd=tmp_path)
        time.sleep(rng.uniform(0.2, 1.2))
        prune = seqctl_process(
            ["--database-url", database_url, "sync", "--prune", "--yes"], cwd=tmp_path
        )
        applied, pruned = finish(apply), finish(prune)
        counts = _counts(engine, key)
        assert applied[0] in (0, 1) and pruned[0] in (0, 1), (applied, pruned)
        assert "Traceback" not in applied[2] + pruned[2]
        assert counts["orphans"] == 0, (round_, applied, pruned, counts)
        if applied[0] == 0:  # started: the prune must have been refused
            assert json.loads(applied[1])["summary"]["started"] == n
            assert pruned[0] == 1 and "instances" in pruned[2], pruned
            assert counts == {"templates": 1, "instances": n, "tasks": 2 * n, "orphans": 0}
            write_template(key, f"Race Flow {round_}", STEPS)  # keep it for later rounds
            outcomes.append("apply first")
        else:  # the prune won: nothing was started
            assert pruned[0] == 0, pruned
            assert counts == {"templates": 0, "instances": 0, "tasks": 0, "orphans": 0}
            outcomes.append("prune first")
    print("outcomes:", outcomes)  # which side won each round is up to the scheduler
    assert len(outcomes) == 6

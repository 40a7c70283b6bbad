"""Property test of `migrate` (spec §9): for random template edits (insert, remove, move,
change) and random instance positions (active or paused), afterwards the instance's
pending tasks are the new template's steps after its position, its history is
byte-identical and the database's CHECK constraints hold."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text

from seqctl.db.demo import ORGANISATION, demo_id
from seqctl.runtime.apply import apply_template
from seqctl.runtime.lifecycle import pause
from seqctl.runtime.lookup import Organisation
from seqctl.runtime.migrate_instances import migrate_instances
from seqctl.runtime.progression import complete_tasks

from .sequences_helpers import runtime_context


@dataclass(frozen=True)
class Edit:
    kind: str  # insert | remove | move | change
    at: int
    to: int


edits = st.lists(
    st.builds(
        Edit,
        st.sampled_from(["insert", "remove", "move", "change"]),
        st.integers(0, 20),
        st.integers(0, 20),
    ),
    max_size=5,
)


def _apply_edits(old: list[str], changes: list[Edit]) -> tuple[list[str], set[str]]:
    """The new order of step keys (old ones kept by key, new ones "new-N") and the changed."""
    steps, changed = list(old), set()
    for n, e in enumerate(changes):
        if e.kind == "insert":
            steps.insert(e.at % (len(steps) + 1), f"new-{n}")
        elif e.kind == "remove" and len(steps) > 1:
            steps.pop(e.at % len(steps))
        elif e.kind == "move":
            item = steps.pop(e.at % len(steps))
            steps.insert(e.to % (len(steps) + 1), item)
        elif e.kind == "change":
            changed.add(steps[e.at % len(steps)])
    return steps, changed


def _write_template(conn: Connection, org: str, keys: list[str]) -> tuple[str, dict[str, str]]:
    template_id = str(uuid.uuid4())
    conn.execute(
        text("INSERT INTO sequence_templates (id, organisation_id, name) VALUES (:id, :o, :n)"),
        {"id": template_id, "o": org, "n": f"Property {template_id[:8]}"},
    )
    ids = {k: str(uuid.uuid4()) for k in keys}
    conn.execute(
        text(
            "INSERT INTO sequence_steps (id, sequence_template_id, step_order, name, type,"
            " delay_value, delay_unit, custom_message) SELECT d.id, :t, d.o, d.name, 'call',"
            " 1, 'days', 'Hello {restaurant_name} from ' || d.name"
            " FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS d(id uuid, o int, name text)"
        ),
        {
            "t": template_id,
            "rows": json.dumps(
                [{"id": ids[k], "o": i + 1, "name": f"Step {k}"} for i, k in enumerate(keys)]
            ),
        },
    )
    return template_id, ids


def _rewrite_steps(
    conn: Connection, template_id: str, ids: dict[str, str], new: list[str], changed: set[str]
) -> None:
    """Make the template's rows the new list: remove, renumber, change, insert."""
    kept = [k for k in new if k in ids]
    conn.execute(
        text(
            "DELETE FROM sequence_steps WHERE sequence_template_id = :t"
            " AND NOT (id = ANY(CAST(:keep AS uuid[])))"
        ),
        {"t": template_id, "keep": [ids[k] for k in kept]},
    )
    conn.execute(
        text(
            "UPDATE sequence_steps SET step_order = step_order + 1000"
            " WHERE sequence_template_id = :t"
        ),
        {"t": template_id},
    )
    rows = [
        {"id": ids.get(k), "o": i + 1, "name": f"Step {k}", "changed": k in changed}
        for i, k in enumerate(new)
    ]
    conn.execute(
        text(
            "UPDATE sequence_steps s SET step_order = d.o, delay_value = CASE WHEN d.changed"
            " THEN 3 ELSE s.delay_value END, custom_message = CASE WHEN d.changed THEN"
            " 'Changed {restaurant_name}' ELSE s.custom_message END"
            " FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS d(id uuid, o int, name text,"
            " changed boolean) WHERE s.id = d.id"
        ),
        {"rows": json.dumps([r for r in rows if r["id"]])},
    )
    conn.execute(
        text(
            "INSERT INTO sequence_steps (sequence_template_id, step_order, name, type,"
            " delay_value, delay_unit, custom_message) SELECT :t, d.o, d.name, 'email', 2,"
            " 'hours', 'New {restaurant_name}'"
            " FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS d(id uuid, o int, name text)"
        ),
        {"t": template_id, "rows": json.dumps([r for r in rows if not r["id"]])},
    )


def _expected(
    old: list[str], new: list[str], done: int, paused: bool
) -> tuple[list[str], list[str]]:
    """(active step names, pending step names) that the rules of spec §9 ask for."""
    history = old[:done]
    active = old[done] if done < len(old) else None
    anchor_order = done if active is not None else done - 1  # index in old
    position = -1
    for k in reversed(old[: anchor_order + 1]):
        if k in new and (k in history or k == active):
            position = new.index(k)
            break
    if active is not None and active in new:
        position = new.index(active)
    after = [k for k in new[position + 1 :] if k not in history and k != active]
    if active is not None and active in new:
        return [f"Step {active}"], [f"Step {k}" for k in after]
    if active is not None and not paused and after:  # the next step starts now
        return [f"Step {after[0]}"], [f"Step {k}" for k in after[1:]]
    return [], [f"Step {k}" for k in after]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    size=st.integers(2, 6),
    done=st.integers(0, 5),
    paused=st.booleans(),
    changes=edits,
)
def test_pending_tasks_equal_the_new_steps_after_the_position(
    engine: Engine, demo_org: str, size: int, done: int, paused: bool, changes: list[Edit]
) -> None:
    org = Organisation(demo_org, ORGANISATION)
    old = [f"s{i}" for i in range(1, size + 1)]
    done = min(done, size - 1)
    with engine.begin() as conn:
        template_id, ids = _write_template(conn, demo_org, old)
        apply_template(
            runtime_context(conn, org), template_id, [demo_id("restaurant", "Luigi's Trattoria")]
        )
        instance_id = str(
            conn.execute(
                text("SELECT id FROM sequence_instances WHERE sequence_template_id = :t"),
                {"t": template_id},
            ).scalar_one()
        )
    for _ in range(done):
        with engine.begin() as conn:
            task = conn.execute(
                text(
                    "SELECT id::text FROM tasks WHERE sequence_instance_id = :i"
                    " AND status = 'active'"
                ),
                {"i": instance_id},
            ).scalar_one()
            complete_tasks(runtime_context(conn, demo_org), [task])
    with engine.begin() as conn:
        if paused:
            pause(runtime_context(conn, demo_org), [instance_id])
        history = _history(conn, instance_id)
        new, changed = _apply_edits(old, changes)
        _rewrite_steps(conn, template_id, ids, new, changed)
    with engine.begin() as conn:
        migrate_instances(conn, org, template_id)
    with engine.connect() as conn:
        assert _history(conn, instance_id, [h[0] for h in history]) == history
        rows = conn.execute(
            text(
                "SELECT name, status, sequence_step_order FROM tasks"
                " WHERE sequence_instance_id = :i ORDER BY sequence_step_order, created_at"
            ),
            {"i": instance_id},
        ).all()
        instance = conn.execute(
            text("SELECT status, total_steps FROM sequence_instances WHERE id = :i"),
            {"i": instance_id},
        ).one()
    active, pending = _expected(old, new, done, paused)
    assert [r.name for r in rows if r.status == "active"] == active
    assert [r.name for r in rows if r.status == "pending"] == pending
    names = [f"Step {k}" for k in new]
    for r in rows:
        if r.status in ("active", "pending"):
            assert r.sequence_step_order == names.index(r.name) + 1
    assert instance.total_steps == len(new)
    if not active and not pending and not paused:
        assert instance.status == "completed"


def _history(
    conn: Connection, instance_id: str, ids: list[str] | None = None
) -> list[tuple[str, str]]:
    where = (
        "t.id = ANY(CAST(:ids AS uuid[]))"
        if ids is not None
        else ("t.sequence_instance_id = :i AND t.status IN ('completed', 'cancelled')")
    )
    return [
        (str(r[0]), r[1])
        for r in conn.execute(
            text(f"SELECT t.id, t::text FROM tasks t WHERE {where} ORDER BY t.id"),
            {"i": instance_id, "ids": ids},
        )
    ]

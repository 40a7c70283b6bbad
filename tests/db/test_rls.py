"""Row level security: a user of organisation A reaches only A's rows of the three tables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import errors

ROLE = "seqctl_test_authenticated"
ORG_A, ORG_B = "aaaaaaaa-0000-0000-0000-000000000001", "bbbbbbbb-0000-0000-0000-000000000001"
USER_A, USER_B = "aaaaaaaa-0000-0000-0000-0000000000aa", "bbbbbbbb-0000-0000-0000-0000000000bb"
USER_NONE = "cccccccc-0000-0000-0000-0000000000cc"
TPL_A, TPL_B = "aaaaaaaa-0000-0000-0000-00000000000e", "bbbbbbbb-0000-0000-0000-00000000000e"
TABLES = ("sequence_templates", "sequence_steps", "sequence_instances")


@pytest.fixture
def seeded(database_url: str) -> str:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"""
            DO $$ BEGIN
              IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
                CREATE ROLE {ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
              END IF;
            END $$;
            GRANT USAGE ON SCHEMA public, auth TO {ROLE};
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {ROLE};
            GRANT SELECT ON auth.users TO {ROLE};
        """)
        for org, user, tpl, letter in ((ORG_A, USER_A, TPL_A, "A"), (ORG_B, USER_B, TPL_B, "B")):
            conn.execute(
                "INSERT INTO organisations (id, name) VALUES (%s, %s)", (org, f"Org {letter}")
            )
            conn.execute(
                "INSERT INTO auth.users (id, email) VALUES (%s, %s)", (user, f"{letter}@x.example")
            )
            conn.execute("INSERT INTO profiles (id, organisation_id) VALUES (%s, %s)", (user, org))
            restaurant = conn.execute(
                "INSERT INTO restaurants (organisation_id, name) VALUES (%s, %s) RETURNING id",
                (org, f"Restaurant {letter}"),
            ).fetchone()[0]  # type: ignore[index]
            conn.execute(
                "INSERT INTO sequence_templates (id, organisation_id, name) VALUES (%s, %s, %s)",
                (tpl, org, f"Template {letter}"),
            )
            conn.execute(
                "INSERT INTO sequence_steps (sequence_template_id, step_order, name, type) "
                "VALUES (%s, 1, 'Call them', 'call')",
                (tpl,),
            )
            conn.execute(
                "INSERT INTO sequence_instances (sequence_template_id, restaurant_id, "
                "organisation_id, name, total_steps) VALUES (%s, %s, %s, %s, 1)",
                (tpl, restaurant, org, f"Instance {letter}"),
            )
        conn.execute(
            "INSERT INTO auth.users (id, email) VALUES (%s, 'nobody@x.example')", (USER_NONE,)
        )
    return database_url


@pytest.fixture
def as_user(seeded: str) -> Iterator[Any]:
    def connect(user: str) -> psycopg.Connection[tuple[Any, ...]]:
        conn = psycopg.connect(seeded)
        conn.execute(f"SET ROLE {ROLE}")
        conn.execute(
            "SELECT set_config('request.jwt.claims', %s, false)",
            (json.dumps({"sub": user, "role": "authenticated"}),),
        )
        conn.commit()  # session-level: survives the rollbacks of the tests
        return conn

    opened: list[psycopg.Connection[tuple[Any, ...]]] = []

    def factory(user: str) -> psycopg.Connection[tuple[Any, ...]]:
        opened.append(connect(user))
        return opened[-1]

    yield factory
    for conn in opened:
        conn.close()


def orgs_visible(conn: Any, table: str) -> set[str]:
    if table == "sequence_steps":
        sql = "SELECT sequence_template_id::text FROM sequence_steps"
        return {"A" if r[0] == TPL_A else "B" for r in conn.execute(sql)}
    return {
        "A" if r[0] == ORG_A else "B"
        for r in conn.execute(f"SELECT organisation_id::text FROM {table}")
    }


@pytest.mark.parametrize("table", TABLES)
def test_user_sees_only_own_organisation(as_user: Any, table: str) -> None:
    assert orgs_visible(as_user(USER_A), table) == {"A"}
    assert orgs_visible(as_user(USER_B), table) == {"B"}


@pytest.mark.parametrize("table", TABLES)
def test_user_without_profile_sees_nothing(as_user: Any, table: str) -> None:
    assert orgs_visible(as_user(USER_NONE), table) == set()


@pytest.mark.parametrize("table", TABLES)
def test_updates_and_deletes_reach_only_own_rows(as_user: Any, seeded: str, table: str) -> None:
    conn = as_user(USER_A)
    column = "name" if table != "sequence_steps" else "description"
    touched = conn.execute(f"UPDATE {table} SET {column} = {column} || '' RETURNING 1").rowcount
    assert touched == 1
    deleted = conn.execute(f"DELETE FROM {table} RETURNING 1").rowcount
    assert deleted == 1
    conn.commit()
    with psycopg.connect(seeded) as admin:  # superuser: B's rows are all still there
        if table == "sequence_steps":
            left = admin.execute(
                "SELECT count(*) FROM sequence_steps WHERE sequence_template_id = %s", (TPL_B,)
            ).fetchone()
        else:
            left = admin.execute(
                f"SELECT count(*) FROM {table} WHERE organisation_id = %s", (ORG_B,)
            ).fetchone()
        assert left == (1,)


def test_inserts_for_another_organisation_fail(as_user: Any) -> None:
    conn = as_user(USER_A)
    conn.execute(
        "INSERT INTO sequence_templates (organisation_id, name) VALUES (%s, 'Mine')", (ORG_A,)
    )
    with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
        conn.execute(
            "INSERT INTO sequence_templates (organisation_id, name) VALUES (%s, 'Theirs')", (ORG_B,)
        )
    conn.rollback()
    with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
        conn.execute(
            "INSERT INTO sequence_steps (sequence_template_id, step_order, name, type) "
            "VALUES (%s, 2, 'Sneaky', 'call')",
            (TPL_B,),
        )
    conn.rollback()
    with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
        conn.execute(
            "INSERT INTO sequence_instances (sequence_template_id, restaurant_id, "
            "organisation_id, name, total_steps) SELECT %s, r.id, %s, 'x', 1 "
            "FROM restaurants r LIMIT 1",
            (TPL_B, ORG_B),
        )


def test_seqctl_act_as_is_subject_to_rls(seeded: str) -> None:
    """What `--as-user` uses: the `authenticated` role with the user's JWT claims."""
    from sqlalchemy import text

    from seqctl.db.connection import Database, make_engine

    database = Database(make_engine(seeded), seeded)
    try:
        for user, expected in ((USER_A, {ORG_A}), (USER_B, {ORG_B}), (USER_NONE, set())):
            with database.begin(as_user=user) as conn:
                assert conn.execute(text("SELECT current_user")).scalar() == "authenticated"
                for table in ("sequence_templates", "sequence_instances", "restaurants", "tasks"):
                    seen = {
                        str(r)
                        for r in conn.execute(
                            text(f"SELECT DISTINCT organisation_id FROM {table}")
                        ).scalars()
                    }
                    assert seen <= expected, table
                    if table != "tasks":
                        assert seen == expected, table
        with database.begin() as conn:  # the role and claims ended with the transaction
            assert conn.execute(text("SELECT current_user")).scalar() != "authenticated"
    finally:
        database.engine.dispose()

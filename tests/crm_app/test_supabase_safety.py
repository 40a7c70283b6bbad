"""Supabase safety (issue 15 item 5, issue 9 item 15): seqctl's version table is out of reach
of ``anon``/``authenticated``; where seqctl makes the CRM tables itself, a user sees only
their own organisation and its members; an existing database's policies are never changed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg import errors

from seqctl.db.migrate import VERSION_SCHEMA, VERSION_TABLE
from seqctl.sync.actual import Reference
from seqctl.sync.references import References
from seqctl.templates.spec import Location

from ..conftest import Result
from ..db import catalog

Cli = Callable[..., Result]
VERSION = f"{VERSION_SCHEMA}.{VERSION_TABLE}"


def _as(url: str, role: str, user: str | None = None) -> psycopg.Connection[tuple[Any, ...]]:
    conn = psycopg.connect(url)
    conn.execute(f"SET ROLE {role}")
    if user is not None:
        conn.execute(
            "SELECT set_config('request.jwt.claims', %s, false)",
            (json.dumps({"sub": user, "role": role}),),
        )
    conn.commit()
    return conn


def _denied(url: str, role: str, sql: str) -> None:
    with _as(url, role) as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute(sql)  # type: ignore[arg-type]


@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_version_table_is_out_of_reach_of_the_api_roles(
    app_before_url: str, cli: Cli, role: str
) -> None:
    assert cli("--database-url", app_before_url, "db", "upgrade", "--yes").exit_code == 0
    _denied(app_before_url, role, f"SELECT version_num FROM {VERSION}")
    _denied(app_before_url, role, f"UPDATE {VERSION} SET version_num = '001'")
    _denied(app_before_url, role, f"DELETE FROM {VERSION}")
    assert catalog.rows(app_before_url, "SELECT to_regclass('public.seqctl_alembic_version')") == [
        (None,)
    ]
    assert catalog.rows(app_before_url, f"SELECT version_num FROM {VERSION}") == [("005",)]


def test_a_version_table_left_in_public_is_moved_out_of_reach(
    app_before_url: str, cli: Cli
) -> None:
    url = app_before_url
    assert cli("--database-url", url, "db", "upgrade", "004", "--yes").exit_code == 0
    # as an older seqctl left it: in public, where Supabase grants anon everything
    with psycopg.connect(url) as conn:
        conn.execute(f"ALTER TABLE {VERSION} SET SCHEMA public")
        conn.execute(f"GRANT ALL ON public.{VERSION_TABLE} TO anon, authenticated")
    assert cli("--database-url", url, "db", "current").stdout.strip() == "004"
    with _as(url, "anon") as conn:  # the hole this closes
        conn.execute(f"UPDATE public.{VERSION_TABLE} SET version_num = '004'")
        conn.rollback()
    result = cli("--database-url", url, "db", "upgrade", "--yes")
    assert result.exit_code == 0, result.stderr
    assert catalog.rows(url, f"SELECT to_regclass('public.{VERSION_TABLE}')") == [(None,)]
    assert catalog.rows(url, f"SELECT version_num FROM {VERSION}") == [("005",)]
    _denied(url, "anon", f"UPDATE {VERSION} SET version_num = '001'")


def test_an_existing_databases_policies_are_never_changed(app_before_url: str, cli: Cli) -> None:
    crm = ("organisations", "profiles", "restaurants", "tasks", "message_templates")
    before = {k: v for k, v in catalog.policies(app_before_url).items() if v[0] in crm}
    grants = catalog.rows(
        app_before_url,
        "SELECT table_name, grantee, privilege_type FROM information_schema.role_table_grants "
        "WHERE table_schema = 'public' AND table_name = ANY(%s) ORDER BY 1, 2, 3",
        (list(crm),),
    )
    assert cli("--database-url", app_before_url, "db", "upgrade", "--yes").exit_code == 0
    assert {k: v for k, v in catalog.policies(app_before_url).items() if v[0] in crm} == before
    assert (
        catalog.rows(
            app_before_url,
            "SELECT table_name, grantee, privilege_type FROM "
            "information_schema.role_table_grants WHERE table_schema = 'public' "
            "AND table_name = ANY(%s) ORDER BY 1, 2, 3",
            (list(crm),),
        )
        == grants
    )


# --- where seqctl creates the CRM tables itself (issue 9, item 15) -------------------------

ORG_A, ORG_B = "aaaaaaaa-1111-4000-8000-00000000000a", "bbbbbbbb-1111-4000-8000-00000000000b"
USER_A, MATE_A = "aaaaaaaa-1111-4000-8000-0000000000a1", "aaaaaaaa-1111-4000-8000-0000000000a2"
USER_B, LONER = "bbbbbbbb-1111-4000-8000-0000000000b1", "cccccccc-1111-4000-8000-0000000000c1"


@pytest.fixture
def two_orgs(database_url: str) -> str:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO organisations (id, name) VALUES (%s, 'Org A'), (%s, 'Org B')",
            (ORG_A, ORG_B),
        )
        for user, org, email in (
            (USER_A, ORG_A, "a@x.example"),
            (MATE_A, ORG_A, "mate@x.example"),
            (USER_B, ORG_B, "b@x.example"),
            (LONER, None, "loner@x.example"),
        ):
            conn.execute("INSERT INTO auth.users (id, email) VALUES (%s, %s)", (user, email))
            conn.execute(
                "INSERT INTO profiles (id, organisation_id, email, name) VALUES (%s, %s, %s, %s)",
                (user, org, email, email.split("@")[0]),
            )
    return database_url


def test_a_user_sees_only_their_organisation_and_its_members(two_orgs: str) -> None:
    with _as(two_orgs, "authenticated", USER_A) as conn:
        assert conn.execute("SELECT name FROM organisations").fetchall() == [("Org A",)]
        emails = conn.execute("SELECT email FROM profiles ORDER BY email").fetchall()
        assert emails == [("a@x.example",), ("mate@x.example",)]
    with _as(two_orgs, "authenticated", USER_B) as conn:
        assert conn.execute("SELECT name FROM organisations").fetchall() == [("Org B",)]
        assert conn.execute("SELECT email FROM profiles").fetchall() == [("b@x.example",)]
    with _as(two_orgs, "authenticated", LONER) as conn:
        assert conn.execute("SELECT count(*) FROM organisations").fetchall() == [(0,)]
        assert conn.execute("SELECT email FROM profiles").fetchall() == [("loner@x.example",)]
    with _as(two_orgs, "authenticated") as conn:  # no user at all
        assert conn.execute("SELECT count(*) FROM organisations").fetchall() == [(0,)]
        assert conn.execute("SELECT count(*) FROM profiles").fetchall() == [(0,)]


def test_sequence_policies_still_work_under_the_new_profile_policy(two_orgs: str) -> None:
    with psycopg.connect(two_orgs) as conn:
        conn.execute(
            "INSERT INTO sequence_templates (organisation_id, name) VALUES (%s, 'Tpl A'), "
            "(%s, 'Tpl B')",
            (ORG_A, ORG_B),
        )
    with _as(two_orgs, "authenticated", MATE_A) as conn:
        assert conn.execute("SELECT name FROM sequence_templates").fetchall() == [("Tpl A",)]


# --- inactive templates never make a name ambiguous ---------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, location: Location, message: str, hint: str | None = None) -> None:
        self.messages.append(message)


@pytest.mark.parametrize(
    ("items", "expected", "problem"),
    [
        ([("1", True), ("2", False)], "1", None),
        ([("1", False), ("2", True), ("3", False)], "2", None),
        ([("1", False)], "1", None),  # only an inactive one: still found
        ([("1", True), ("2", True), ("3", False)], None, "2 message templates are named"),
        ([("1", False), ("2", False)], None, "2 message templates are named"),
    ],
)
def test_name_lookup_prefers_active_templates(
    items: list[tuple[str, bool]], expected: str | None, problem: str | None
) -> None:
    ids = {n: f"00000000-0000-4000-8000-00000000000{n}" for n, _ in items}
    refs = References(
        "message template", [Reference(ids[n], "Welcome", active) for n, active in items]
    )
    problems = _Problems()
    found = refs.resolve("Welcome", Location("x.yaml", 1, 1), problems)  # type: ignore[arg-type]
    assert found == (ids[expected] if expected else None)
    assert [p for p in problems.messages if problem and p.startswith(problem)] or not problem

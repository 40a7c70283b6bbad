"""`apply` never mixes tenants and finds users exactly (issue 9, items 5 and 6; spec §7).

Item 5: a step linked (by the web app, or by SQL) to another organisation's message or task
template is refused, naming the step, and that organisation's text is never rendered.
Item 6: an email matches case-insensitively but exactly one user; an assignee must be a
member of the organisation.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import Connection, Engine, text

from ..conftest import Result
from ..db.sequences_helpers import ALEX, SAM, S, make_template

Cli = Callable[..., Result]
ORG_B = "bbbbbbbb-2222-4222-8222-000000000001"
USER_B = "bbbbbbbb-2222-4222-8222-0000000000bb"
LONER = "bbbbbbbb-2222-4222-8222-0000000000dd"  # in auth.users, no profile
SAM_UPPER = "bbbbbbbb-2222-4222-8222-0000000000ee"  # 'SAM@demo.example', a second Sam
MESSAGE_B = "bbbbbbbb-2222-4222-8222-00000000000a"
TASK_B = "bbbbbbbb-2222-4222-8222-00000000000b"
SECRET = "RIVAL-SECRET-PITCH"


def _columns(conn: Connection, table: str) -> set[str]:
    return set(
        conn.execute(
            text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = :t"
            ),
            {"t": table},
        ).scalars()
    )


def _insert(conn: Connection, table: str, values: dict[str, object]) -> None:
    """Insert the values whose columns the table has (message/task template columns vary)."""
    present = {k: v for k, v in values.items() if k in _columns(conn, table)}
    conn.execute(
        text(
            f"INSERT INTO {table} ({', '.join(present)}) "
            f"VALUES ({', '.join(':' + k for k in present)})"
        ),
        present,
    )


@pytest.fixture
def rival(engine: Engine, demo_org: str) -> str:
    """Organisation B with a user, a message template and a task template full of secrets."""
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO organisations (id, name) VALUES (:o, 'Rival Foods')"), {"o": ORG_B}
        )
        conn.execute(
            text(
                "INSERT INTO auth.users (id, email) VALUES "
                "(:b, 'bee@rival.example'), (:l, 'loner@demo.example')"
            ),
            {"b": USER_B, "l": LONER},
        )
        conn.execute(
            text(
                "INSERT INTO profiles (id, organisation_id, email) "
                "VALUES (:u, :o, 'bee@rival.example')"
            ),
            {"u": USER_B, "o": ORG_B},
        )
        secret = f"{SECRET} for {{restaurant_name}}"
        _insert(
            conn,
            "message_templates",
            {
                "id": MESSAGE_B,
                "organisation_id": ORG_B,
                "name": "Rival pitch",
                "type": "email",
                "subject": SECRET,
                "subject_line": SECRET,
                "content": secret,
                "message_content": secret,
            },
        )
        _insert(
            conn,
            "task_templates",
            {
                "id": TASK_B,
                "organisation_id": ORG_B,
                "name": "Rival script",
                "type": "call",
                "default_message": secret,
                "subject_line": SECRET,
            },
        )
    return ORG_B


def _base(url: str) -> tuple[str, ...]:
    return ("--database-url", url, "--org", "Demo Restaurant Group")


def _written(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (
            int(conn.execute(text("SELECT count(*) FROM sequence_instances")).scalar_one()),
            int(conn.execute(text("SELECT count(*) FROM tasks")).scalar_one()),
        )


@pytest.mark.parametrize("column", ["message_template_id", "task_template_id"])
@pytest.mark.parametrize("dry_run", [False, True], ids=["apply", "dry-run"])
def test_step_linked_to_another_organisations_template_is_refused(
    cli: Cli,
    engine: Engine,
    demo_org: str,
    database_url: str,
    rival: str,
    column: str,
    dry_run: bool,
) -> None:
    template = make_template(
        engine,
        demo_org,
        "Mixed Flow",
        [S("Intro call"), S("Pitch them", 1, type="email", custom_message="Hi {first_name}")],
        key="mixed-flow",
    )
    with engine.begin() as conn:  # as the web app (or a hand-written UPDATE) could link it
        conn.execute(
            text(
                f"UPDATE sequence_steps SET {column} = :ref "
                "WHERE sequence_template_id = :t AND step_order = 2"
            ),
            {"ref": MESSAGE_B if column == "message_template_id" else TASK_B, "t": template},
        )
    before = _written(engine)
    result = cli(
        *_base(database_url),
        "apply",
        "-t",
        "mixed-flow",
        "-r",
        "Luigi's Trattoria",
        *(["--dry-run"] if dry_run else []),
    )
    assert result.exit_code == 1, result
    what = "message template" if column == "message_template_id" else "task template"
    assert "Mixed Flow" in result.stderr and "mixed-flow" in result.stderr
    assert "step 2 'Pitch them'" in result.stderr
    assert what in result.stderr and "another organisation" in result.stderr
    assert "seqctl sync" in result.stderr  # how to fix it
    assert SECRET not in result.stdout + result.stderr
    assert "Rival" not in result.stdout + result.stderr
    assert _written(engine) == before


def test_own_organisations_templates_still_render(
    cli: Cli, engine: Engine, demo_org: str, database_url: str, rival: str
) -> None:
    make_template(
        engine,
        demo_org,
        "Own Flow",
        [
            S("Intro call", task_template="Intro call script"),
            S("Welcome", 1, type="email", message_template="Welcome email"),
        ],
    )
    result = cli(*_base(database_url), "apply", "-t", "Own Flow", "-r", "Luigi's Trattoria")
    assert result.exit_code == 0, result.stderr
    with engine.connect() as conn:
        rendered = (
            conn.execute(text("SELECT message_rendered FROM tasks ORDER BY sequence_step_order"))
            .scalars()
            .all()
        )
    assert len(rendered) == 2 and all(r and "Luigi" in r for r in rendered[1:])


def _second_sam(engine: Engine, demo_org: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO auth.users (id, email) VALUES (:u, 'SAM@demo.example')"),
            {"u": SAM_UPPER},
        )
        conn.execute(
            text(
                "INSERT INTO profiles (id, organisation_id, email) "
                "VALUES (:u, :o, 'SAM@demo.example')"
            ),
            {"u": SAM_UPPER, "o": demo_org},
        )


def test_email_matching_two_users_by_case_lists_them(
    cli: Cli, engine: Engine, demo_org: str, database_url: str
) -> None:
    make_template(engine, demo_org, "Assign Flow", [S("Call them")])
    _second_sam(engine, demo_org)
    base = _base(database_url)
    result = cli(
        *base,
        "apply",
        "-t",
        "Assign Flow",
        "-r",
        "Luigi's Trattoria",
        "--assign-to",
        "sam@demo.example",
    )
    assert result.exit_code == 64, result
    assert "2 users" in result.stderr
    assert SAM in result.stderr and SAM_UPPER in result.stderr
    assert "sam@demo.example" in result.stderr and "SAM@demo.example" in result.stderr
    assert "UUID" in result.stderr  # how to choose
    assert _written(engine) == (0, 0)
    status = cli(*base, "status", "--assigned-to", "Sam@Demo.Example")
    assert status.exit_code == 64 and SAM_UPPER in status.stderr
    acting = cli(*base, "--as-user", "sam@DEMO.example", "status")
    assert acting.exit_code == 64 and SAM_UPPER in acting.stderr
    by_id = cli(
        *base, "apply", "-t", "Assign Flow", "-r", "Luigi's Trattoria", "--assign-to", SAM_UPPER
    )
    assert by_id.exit_code == 0, by_id.stderr
    with engine.connect() as conn:
        assert conn.execute(text("SELECT assigned_to::text FROM sequence_instances")).scalar() == (
            SAM_UPPER
        )


def test_email_matches_one_user_case_insensitively(
    cli: Cli, engine: Engine, demo_org: str, database_url: str
) -> None:
    make_template(engine, demo_org, "Assign Flow", [S("Call them")])
    result = cli(
        *_base(database_url),
        "apply",
        "-t",
        "Assign Flow",
        "-r",
        "Luigi's Trattoria",
        "--assign-to",
        "ALEX@Demo.Example",
    )
    assert result.exit_code == 0, result.stderr
    with engine.connect() as conn:
        assert conn.execute(text("SELECT assigned_to::text FROM sequence_instances")).scalar() == (
            ALEX
        )


@pytest.mark.parametrize("assignee", ["bee@rival.example", USER_B, "loner@demo.example"])
def test_assignee_outside_the_organisation_is_refused(
    cli: Cli, engine: Engine, demo_org: str, database_url: str, rival: str, assignee: str
) -> None:
    make_template(engine, demo_org, "Assign Flow", [S("Call them")])
    for dry_run in ([], ["--dry-run"]):
        result = cli(
            *_base(database_url),
            "apply",
            "-t",
            "Assign Flow",
            "-r",
            "Luigi's Trattoria",
            "--assign-to",
            assignee,
            *dry_run,
        )
        assert result.exit_code == 1, result
        assert "not a member of organisation 'Demo Restaurant Group'" in result.stderr
        assert "--assign-to" in result.stderr
        assert "Rival Foods" not in result.stderr  # the other organisation is not named
    assert _written(engine) == (0, 0)


def test_status_filter_by_a_non_member_finds_nothing(
    cli: Cli, engine: Engine, demo_org: str, database_url: str, rival: str
) -> None:
    """A filter is not an assignment: instances once assigned to someone who has left still
    show; a user of another organisation simply has none here."""
    make_template(engine, demo_org, "Assign Flow", [S("Call them")])
    assert (
        cli(
            *_base(database_url),
            "apply",
            "-t",
            "Assign Flow",
            "-r",
            "Luigi's Trattoria",
            "--assign-to",
            "sam@demo.example",
        ).exit_code
        == 0
    )
    found = cli(
        *_base(database_url),
        "status",
        "--assigned-to",
        "bee@rival.example",
        "--format",
        "json",
    )
    assert found.exit_code == 0, found.stderr
    assert json.loads(found.stdout)["instances"] == []

"""seqctl's own CRM tables follow the application's, revision 005, and the column variants
of a team's database (issue 15, items 1-2)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from seqctl.db import tables
from seqctl.db.connection import make_engine
from seqctl.db.demo import ORGANISATION, demo_id, load_demo
from seqctl.db.migrate import downgrade, upgrade

from . import catalog
from .sequences_helpers import LUIGI, S, make_template


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        (downgrade if down else upgrade)(conn, revision)
    engine.dispose()


def _types(url: str, table: str) -> dict[str, tuple[Any, ...]]:
    return {
        name: (type_name, nullable, default)
        for name, type_name, nullable, default in catalog.rows(
            url,
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, "
            "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
            "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
            (f"public.{table}",),
        )
    }


def test_crm_tables_follow_the_application(database_url: str) -> None:
    mt = _types(database_url, "message_templates")
    assert mt["message_content"] == ("text", False, None)
    assert mt["subject_line"] == ("text", True, None)
    assert "content" not in mt and "subject" not in mt
    tt = _types(database_url, "task_templates")
    assert tt["default_message"] == ("text", True, None)
    assert tt["subject_line"] == ("text", True, None)
    tasks = _types(database_url, "tasks")
    assert tasks["subject_line"] == ("text", True, None)
    assert tasks["subject_line_rendered"] == ("text", True, None)
    restaurants = _types(database_url, "restaurants")
    assert restaurants["cuisine"][0] == "text[]"
    assert restaurants["organisation_name"][0] == "text"
    assert restaurants["assigned_sales_rep"][0] == "uuid"
    assert restaurants["name"][0] == "character varying(255)"
    for column, type_name in {
        "contact_role": "text",
        "opening_hours_text": "text",
        "lead_stage": "text",
        "lead_warmth": "text",
        "lead_status": "text",
        "icp_rating": "integer",
        "demo_store_url": "text",
        "demo_store_built": "boolean",
        "subdomain": "text",
        "ubereats_url": "text",
        "doordash_url": "text",
        "instagram_url": "text",
        "facebook_url": "text",
        "website_type": "text",
        "number_of_venues": "integer",
        "point_of_sale": "text",
        "online_ordering_platform": "text",
        "online_ordering_handles_delivery": "boolean",
        "self_delivery": "boolean",
        "weekly_uber_sales_volume": "numeric(10,2)",
        "uber_aov": "numeric(10,2)",
        "uber_markup": "numeric(5,2)",
        "uber_profitability": "numeric(5,2)",
        "uber_profitability_description": "text",
        "current_marketing_description": "text",
        "painpoints": "jsonb",
        "core_selling_points": "jsonb",
        "features_to_highlight": "jsonb",
        "possible_objections": "jsonb",
        "meeting_link": "text",
        "last_contacted": "timestamp with time zone",
    }.items():
        assert restaurants[column][0] == type_name, column
    profiles = _types(database_url, "profiles")
    assert "name" in profiles and "full_name" not in profiles
    checks = catalog.constraints(database_url)
    for name in ("tasks_type_check", "task_templates_type_check", "sequence_steps_type_check"):
        assert "'demo_meeting'::text" in checks[name], name
    assert "'call'" not in checks["message_templates_type_check"]


def test_declared_tables_exist_in_the_catalog(database_url: str) -> None:
    """Every column seqctl's SQLAlchemy tables declare is in the migrated database."""
    for table in tables.metadata.tables.values():
        schema = table.schema or "public"
        found = {c[0] for c in catalog.columns(database_url, table.name, schema)}
        missing = {c.name for c in table.columns} - found
        assert not missing, (table.name, missing)


def test_revision_005_adds_subject_line_and_demo_meeting(empty_database_url: str) -> None:
    url = empty_database_url
    _migrate(url, "004")
    assert "subject_line" not in {c[0] for c in catalog.columns(url, "sequence_steps")}
    assert "demo_meeting" not in catalog.constraints(url)["sequence_steps_type_check"]
    _migrate(url, "005")
    assert ("subject_line", "text", "YES", None) in catalog.columns(url, "sequence_steps")
    assert "'demo_meeting'::text" in catalog.constraints(url)["sequence_steps_type_check"]
    assert catalog.comments(url)["sequence_steps.subject_line"].startswith("Email subject line")
    _migrate(url, "004", down=True)
    assert "subject_line" not in {c[0] for c in catalog.columns(url, "sequence_steps")}
    assert "demo_meeting" not in catalog.constraints(url)["sequence_steps_type_check"]


def _template_with_demo_meeting(url: str) -> None:
    with psycopg.connect(url) as conn:
        org = conn.execute("INSERT INTO organisations (name) VALUES ('O') RETURNING id").fetchone()
        template = conn.execute(
            "INSERT INTO sequence_templates (organisation_id, name) VALUES (%s, 'Demo flow') "
            "RETURNING id",
            org,
        ).fetchone()
        conn.execute(
            "INSERT INTO sequence_steps (sequence_template_id, step_order, name, type, "
            "subject_line) VALUES (%s, 1, 'Book the demo', 'demo_meeting', 'Hi {first_name}')",
            template,
        )


def test_rollback_of_005_refuses_demo_meeting_steps(database_url: str, cli: Any) -> None:
    _template_with_demo_meeting(database_url)
    # --yes: past the question about what would be lost, to the refusal itself
    result = cli("--database-url", database_url, "db", "downgrade", "004", "--yes")
    assert result.exit_code == 1
    assert "1 step(s) are demo_meeting steps" in result.stderr
    assert "change those steps to another type" in result.stderr
    assert "Traceback" not in result.stderr
    # nothing changed
    assert catalog.rows(database_url, "SELECT type, subject_line FROM sequence_steps") == [
        ("demo_meeting", "Hi {first_name}")
    ]
    assert cli("--database-url", database_url, "db", "current").stdout.strip() == "005 (head)"
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE sequence_steps SET type = 'call'")
    # the subject line is lost by the rollback, so it asks first, then goes with --yes
    assert cli("--database-url", database_url, "db", "downgrade", "004").exit_code == 1
    assert cli("--database-url", database_url, "db", "downgrade", "004", "--yes").exit_code == 0
    assert catalog.rows(database_url, "SELECT type FROM sequence_steps") == [("call",)]


def test_demo_meeting_tasks_and_templates_are_accepted(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        org = conn.execute("INSERT INTO organisations (name) VALUES ('O') RETURNING id").fetchone()
        conn.execute(
            "INSERT INTO task_templates (organisation_id, name, type, subject_line) "
            "VALUES (%s, 'Demo', 'demo_meeting', 'Demo for {restaurant_name}')",
            org,
        )
        conn.execute(
            "INSERT INTO tasks (organisation_id, name, type, subject_line, subject_line_rendered)"
            " VALUES (%s, 'Demo', 'demo_meeting', 'S {x}', 'S x')",
            org,
        )
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO message_templates (organisation_id, name, type, message_content) "
                "VALUES (%s, 'M', 'call', 'text')",
                org,
            )


# --- a team's database with the older column names -------------------------------------

LEGACY_RENAMES = """
ALTER TABLE message_templates RENAME COLUMN message_content TO content;
ALTER TABLE message_templates RENAME COLUMN subject_line TO subject;
ALTER TABLE profiles RENAME COLUMN name TO full_name;
ALTER TABLE restaurants ALTER COLUMN cuisine TYPE text USING array_to_string(cuisine, ', ');
"""


def test_demo_and_apply_work_with_the_older_column_names(database_url: str, cli: Any) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(LEGACY_RENAMES)
    assert cli("--database-url", database_url, "demo").exit_code == 0
    assert catalog.rows(database_url, "SELECT full_name FROM profiles ORDER BY 1") == [
        ("Alex Morgan",),
        ("Sam Patel",),
    ]
    assert catalog.rows(
        database_url, "SELECT subject FROM message_templates WHERE name = 'Welcome email'"
    ) == [("Welcome to {organisation_name}",)]
    engine = make_engine(database_url)
    make_template(
        engine,
        demo_id("organisation", ORGANISATION),
        "Welcome flow",
        [S("Welcome", type="email", message_template="Welcome email")],
    )
    engine.dispose()
    result = cli("--database-url", database_url, "apply", "-t", "Welcome flow", "-r", LUIGI)
    assert result.exit_code == 0, result.stderr
    rendered = catalog.rows(database_url, "SELECT message_rendered FROM tasks")
    assert rendered[0][0].startswith("Hi Luigi,\n\nWelcome aboard! We are excited to work with")


def test_demo_on_the_application_schema_uses_profiles_name(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        load_demo(conn)
        names = conn.execute(text("SELECT name, role FROM profiles ORDER BY name")).all()
        cuisines = conn.execute(text("SELECT cuisine FROM restaurants ORDER BY name")).all()
    engine.dispose()
    assert [tuple(n) for n in names] == [("Alex Morgan", "admin"), ("Sam Patel", "user")]
    assert ["Italian"] in [c[0] for c in cuisines]


def test_missing_message_column_is_named_with_what_needs_it(database_url: str, cli: Any) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("ALTER TABLE message_templates RENAME COLUMN message_content TO body")
    result = cli("--database-url", database_url, "demo")
    assert result.exit_code == 3
    assert "message_templates.message_content or message_templates.content" in result.stderr
    assert "seqctl demo" in result.stderr
    assert "ALTER TABLE public.message_templates ADD COLUMN message_content" in result.stderr
    assert catalog.rows(database_url, "SELECT count(*) FROM organisations") == [(0,)]


def test_apply_works_without_optional_restaurant_columns(database_url: str, cli: Any) -> None:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        load_demo(conn)
        conn.execute(text("ALTER TABLE restaurants DROP COLUMN cuisine, DROP COLUMN contact_phone"))
    make_template(
        engine,
        demo_id("organisation", ORGANISATION),
        "Bare flow",
        [S("Call", custom_message="Hi {first_name}: {cuisine}{contact_phone}.")],
    )
    engine.dispose()
    result = cli("--database-url", database_url, "apply", "-t", "Bare flow", "-r", LUIGI)
    assert result.exit_code == 0, result.stderr
    assert catalog.rows(database_url, "SELECT message_rendered FROM tasks") == [("Hi Luigi: .",)]

"""Migrations 001–004 create exactly the design document's objects, and roll back cleanly."""

from __future__ import annotations

import psycopg
import pytest

from seqctl.db.connection import HEAD_REVISION, make_engine
from seqctl.db.first_upgrade import CRM_TABLES
from seqctl.db.migrate import current, downgrade, offline_sql, revisions, upgrade

from . import catalog

EXPECTED_INDEXES = {
    "idx_sequence_templates_org": "CREATE INDEX idx_sequence_templates_org ON public.sequence_templates "
    "USING btree (organisation_id)",
    "idx_sequence_templates_active": "CREATE INDEX idx_sequence_templates_active ON public.sequence_templates "
    "USING btree (is_active) WHERE (is_active = true)",
    "idx_sequence_templates_tags": "CREATE INDEX idx_sequence_templates_tags ON public.sequence_templates USING gin (tags)",
    "idx_sequence_steps_template": "CREATE INDEX idx_sequence_steps_template ON public.sequence_steps "
    "USING btree (sequence_template_id)",
    "idx_sequence_steps_template_order": "CREATE INDEX idx_sequence_steps_template_order ON public.sequence_steps "
    "USING btree (sequence_template_id, step_order)",
    "idx_sequence_steps_task_template": "CREATE INDEX idx_sequence_steps_task_template ON public.sequence_steps "
    "USING btree (task_template_id) WHERE (task_template_id IS NOT NULL)",
    "sequence_steps_unique_order": "CREATE UNIQUE INDEX sequence_steps_unique_order ON public.sequence_steps "
    "USING btree (sequence_template_id, step_order)",
    "idx_sequence_instances_template": "CREATE INDEX idx_sequence_instances_template ON public.sequence_instances "
    "USING btree (sequence_template_id)",
    "idx_sequence_instances_restaurant": "CREATE INDEX idx_sequence_instances_restaurant ON public.sequence_instances "
    "USING btree (restaurant_id)",
    "idx_sequence_instances_org": "CREATE INDEX idx_sequence_instances_org ON public.sequence_instances "
    "USING btree (organisation_id)",
    "idx_sequence_instances_status": "CREATE INDEX idx_sequence_instances_status ON public.sequence_instances "
    "USING btree (status)",
    "idx_sequence_instances_assigned": "CREATE INDEX idx_sequence_instances_assigned ON public.sequence_instances "
    "USING btree (assigned_to) WHERE (assigned_to IS NOT NULL)",
    "idx_sequence_instances_restaurant_status": "CREATE INDEX idx_sequence_instances_restaurant_status ON public.sequence_instances "
    "USING btree (restaurant_id, status)",
    "idx_sequence_instances_org_status": "CREATE INDEX idx_sequence_instances_org_status ON public.sequence_instances "
    "USING btree (organisation_id, status)",
    "idx_tasks_sequence_instance": "CREATE INDEX idx_tasks_sequence_instance ON public.tasks "
    "USING btree (sequence_instance_id) WHERE (sequence_instance_id IS NOT NULL)",
    "idx_tasks_sequence_instance_order": "CREATE INDEX idx_tasks_sequence_instance_order ON public.tasks "
    "USING btree (sequence_instance_id, sequence_step_order) "
    "WHERE (sequence_instance_id IS NOT NULL)",
    "idx_tasks_sequence_status": "CREATE INDEX idx_tasks_sequence_status ON public.tasks "
    "USING btree (sequence_instance_id, status) WHERE (sequence_instance_id IS NOT NULL)",
}

_ENUM_TYPES = (
    "ARRAY['internal_activity'::text, 'social_message'::text, 'text'::text, "
    "'email'::text, 'call'::text]"
)
EXPECTED_CONSTRAINTS = {
    "sequence_templates_pkey": "sequence_templates: PRIMARY KEY (id)",
    "sequence_templates_organisation_id_fkey": "sequence_templates: FOREIGN KEY (organisation_id) "
    "REFERENCES organisations(id) ON DELETE CASCADE",
    "sequence_templates_created_by_fkey": "sequence_templates: FOREIGN KEY (created_by) "
    "REFERENCES auth.users(id) ON DELETE SET NULL",
    "sequence_templates_name_check": "sequence_templates: CHECK (((length(name) >= 3) AND (length(name) <= 100)))",
    "sequence_templates_description_check": "sequence_templates: CHECK ((length(description) <= 1000))",
    "sequence_steps_pkey": "sequence_steps: PRIMARY KEY (id)",
    "sequence_steps_sequence_template_id_fkey": "sequence_steps: FOREIGN KEY "
    "(sequence_template_id) REFERENCES sequence_templates(id) ON DELETE CASCADE",
    "sequence_steps_task_template_id_fkey": "sequence_steps: FOREIGN KEY (task_template_id) "
    "REFERENCES task_templates(id) ON DELETE SET NULL",
    "sequence_steps_message_template_id_fkey": "sequence_steps: FOREIGN KEY "
    "(message_template_id) REFERENCES message_templates(id) ON DELETE SET NULL",
    "sequence_steps_step_order_check": "sequence_steps: CHECK ((step_order > 0))",
    "sequence_steps_name_check": "sequence_steps: CHECK (((length(name) >= 3) AND (length(name) <= 100)))",
    "sequence_steps_description_check": "sequence_steps: CHECK ((length(description) <= 500))",
    "sequence_steps_type_check": f"sequence_steps: CHECK ((type = ANY ({_ENUM_TYPES})))",
    "sequence_steps_priority_check": "sequence_steps: CHECK ((priority = ANY "
    "(ARRAY['low'::text, 'medium'::text, 'high'::text])))",
    "sequence_steps_delay_value_check": "sequence_steps: CHECK ((delay_value >= 0))",
    "sequence_steps_delay_unit_check": "sequence_steps: CHECK ((delay_unit = ANY "
    "(ARRAY['minutes'::text, 'hours'::text, 'days'::text])))",
    "sequence_steps_unique_order": "sequence_steps: UNIQUE (sequence_template_id, step_order)",
    "sequence_instances_pkey": "sequence_instances: PRIMARY KEY (id)",
    "sequence_instances_sequence_template_id_fkey": "sequence_instances: FOREIGN KEY "
    "(sequence_template_id) REFERENCES sequence_templates(id) ON DELETE CASCADE",
    "sequence_instances_restaurant_id_fkey": "sequence_instances: FOREIGN KEY (restaurant_id) "
    "REFERENCES restaurants(id) ON DELETE CASCADE",
    "sequence_instances_organisation_id_fkey": "sequence_instances: FOREIGN KEY "
    "(organisation_id) REFERENCES organisations(id) ON DELETE CASCADE",
    "sequence_instances_assigned_to_fkey": "sequence_instances: FOREIGN KEY (assigned_to) "
    "REFERENCES auth.users(id) ON DELETE SET NULL",
    "sequence_instances_created_by_fkey": "sequence_instances: FOREIGN KEY (created_by) "
    "REFERENCES auth.users(id) ON DELETE SET NULL",
    "sequence_instances_status_check": "sequence_instances: CHECK ((status = ANY (ARRAY["
    "'active'::text, 'paused'::text, 'completed'::text, 'cancelled'::text])))",
    "sequence_instances_total_steps_check": "sequence_instances: CHECK ((total_steps > 0))",
    "sequence_instances_completed_check": "sequence_instances: CHECK ((((status = "
    "'completed'::text) AND (completed_at IS NOT NULL)) OR ((status <> 'completed'::text) "
    "AND (completed_at IS NULL))))",
    "sequence_instances_cancelled_check": "sequence_instances: CHECK ((((status = "
    "'cancelled'::text) AND (cancelled_at IS NOT NULL)) OR ((status <> 'cancelled'::text) "
    "AND (cancelled_at IS NULL))))",
    "sequence_instances_paused_check": "sequence_instances: CHECK ((((status = 'paused'::text) "
    "AND (paused_at IS NOT NULL)) OR ((status <> 'paused'::text) AND (paused_at IS NULL))))",
    "tasks_sequence_instance_id_fkey": "tasks: FOREIGN KEY (sequence_instance_id) "
    "REFERENCES sequence_instances(id) ON DELETE SET NULL",
    "tasks_sequence_step_order_check": "tasks: CHECK (((sequence_step_order IS NULL) OR (sequence_step_order > 0)))",
    "tasks_sequence_consistency_check": "tasks: CHECK ((((sequence_instance_id IS NULL) AND "
    "(sequence_step_order IS NULL)) OR ((sequence_instance_id IS NOT NULL) AND "
    "(sequence_step_order IS NOT NULL))))",
}

_ORG_FILTER = (
    "(organisation_id IN ( SELECT profiles.organisation_id\n   FROM profiles\n"
    "  WHERE (profiles.id = auth.uid())))"
)
_STEP_FILTER = (
    "(sequence_template_id IN ( SELECT sequence_templates.id\n"
    "   FROM sequence_templates\n"
    "  WHERE (sequence_templates.organisation_id IN ( SELECT profiles.organisation_id\n"
    "           FROM profiles\n          WHERE (profiles.id = auth.uid())))))"
)
EXPECTED_POLICIES = {
    "sequence_templates_org_policy": ("sequence_templates", "ALL", _ORG_FILTER, None),
    "sequence_templates_insert_policy": ("sequence_templates", "INSERT", None, _ORG_FILTER),
    "sequence_steps_org_policy": ("sequence_steps", "ALL", _STEP_FILTER, None),
    "sequence_steps_insert_policy": ("sequence_steps", "INSERT", None, _STEP_FILTER),
    "sequence_instances_org_policy": ("sequence_instances", "ALL", _ORG_FILTER, None),
    "sequence_instances_insert_policy": ("sequence_instances", "INSERT", None, _ORG_FILTER),
}

EXPECTED_TRIGGERS = {
    "update_sequence_templates_updated_at": "sequence_templates",
    "update_sequence_steps_updated_at": "sequence_steps",
    "update_sequence_instances_updated_at": "sequence_instances",
    "tasks_clear_sequence_step_order": "tasks",  # seqctl's fix, see migration 004
}

EXPECTED_COMMENTS = {
    "sequence_templates": "Reusable sequence workflow definitions",
    "sequence_templates.tags": "Array of tags for categorization",
    "sequence_templates.usage_count": "Number of times used",
    "sequence_steps": "Steps within sequence templates",
    "sequence_steps.step_order": "Order of step in sequence (1-indexed)",
    "sequence_steps.delay_value": "Number of time units to delay",
    "sequence_steps.delay_unit": "Unit: minutes, hours, or days",
    "sequence_instances": "Active sequences applied to restaurants",
    "sequence_instances.name": "Snapshot of template name at creation",
    "sequence_instances.current_step_order": "Current active step",
    "sequence_instances.total_steps": "Total steps (snapshot)",
    "tasks.sequence_instance_id": "Links task to sequence instance (NULL for standalone tasks)",
    "tasks.sequence_step_order": "Position in sequence (NULL for standalone tasks)",
}


def migrate(url: str, revision: str, *, down: bool = False) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        (downgrade if down else upgrade)(conn, revision)
    engine.dispose()


def revision_of(url: str) -> str | None:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = current(conn)
    engine.dispose()
    return found


def test_revisions_are_001_to_005() -> None:
    assert [r[0] for r in revisions()] == ["001", "002", "003", "004", "005"]
    assert [r[1] for r in revisions()] == [None, "001", "002", "003", "004"]
    assert revisions()[-1][0] == HEAD_REVISION


def test_upgrade_creates_every_object_of_the_document(empty_database_url: str) -> None:
    url = empty_database_url
    migrate(url, "004")
    assert revision_of(url) == "004"
    found = catalog.indexes(url)
    for name, definition in EXPECTED_INDEXES.items():
        assert found.get(name) == definition, name
    found_constraints = catalog.constraints(url)
    for name, definition in EXPECTED_CONSTRAINTS.items():
        assert found_constraints.get(name) == definition, name
    assert {
        k: v for k, v in catalog.policies(url).items() if k in EXPECTED_POLICIES
    } == EXPECTED_POLICIES
    assert {k for k, v in catalog.policies(url).items() if v[0] in catalog.SEQUENCE_TABLES} == set(
        EXPECTED_POLICIES
    )
    found_triggers = catalog.triggers(url)
    for name, table in EXPECTED_TRIGGERS.items():
        assert found_triggers.get(name) == table, name
    found_comments = catalog.comments(url)
    for name, comment in EXPECTED_COMMENTS.items():
        assert found_comments.get(name) == comment, name
    for table in catalog.SEQUENCE_TABLES:
        assert catalog.rls_enabled(url, table), table


def test_columns_defaults_and_nullability(empty_database_url: str) -> None:
    url = empty_database_url
    migrate(url, "head")
    templates = {c[0]: c[1:] for c in catalog.columns(url, "sequence_templates")}
    assert templates["id"] == ("uuid", "NO", "uuid_generate_v4()")
    assert templates["tags"] == ("ARRAY", "YES", "ARRAY[]::text[]")
    assert templates["is_active"] == ("boolean", "NO", "true")
    assert templates["usage_count"] == ("integer", "NO", "0")
    assert templates["metadata"] == ("jsonb", "YES", "'{}'::jsonb")
    assert templates["created_at"] == ("timestamp with time zone", "NO", "now()")
    steps = {c[0]: c[1:] for c in catalog.columns(url, "sequence_steps")}
    assert steps["priority"] == ("text", "NO", "'medium'::text")
    assert steps["delay_value"] == ("integer", "NO", "0")
    assert steps["delay_unit"] == ("text", "NO", "'days'::text")
    assert steps["custom_message"] == ("text", "YES", None)
    instances = {c[0]: c[1:] for c in catalog.columns(url, "sequence_instances")}
    assert instances["status"] == ("text", "NO", "'active'::text")
    assert instances["current_step_order"] == ("integer", "YES", "1")
    assert instances["total_steps"] == ("integer", "NO", None)
    assert instances["started_at"] == ("timestamp with time zone", "NO", "now()")
    tasks = {c[0]: c[1:] for c in catalog.columns(url, "tasks")}
    assert tasks["sequence_instance_id"] == ("uuid", "YES", None)
    assert tasks["sequence_step_order"] == ("integer", "YES", None)


def test_round_trip_upgrade_downgrade_upgrade(empty_database_url: str) -> None:
    url = empty_database_url
    migrate(url, "head")
    first = (catalog.indexes(url), catalog.constraints(url), catalog.policies(url))
    migrate(url, "base", down=True)
    assert revision_of(url) is None
    for table in catalog.SEQUENCE_TABLES:
        assert not catalog.table_exists(url, f"public.{table}")
    assert "sequence_instance_id" not in {c[0] for c in catalog.columns(url, "tasks")}
    assert "tasks_clear_sequence_step_order" not in catalog.triggers(url)
    migrate(url, "head")
    assert (catalog.indexes(url), catalog.constraints(url), catalog.policies(url)) == first


@pytest.mark.parametrize("target", ["003", "002", "001"])
def test_step_by_step_downgrade(empty_database_url: str, target: str) -> None:
    url = empty_database_url
    migrate(url, "head")
    migrate(url, target, down=True)
    assert revision_of(url) == target
    expected_tables = {"001": 1, "002": 2, "003": 3}[target]
    present = [t for t in catalog.SEQUENCE_TABLES if catalog.table_exists(url, f"public.{t}")]
    assert present == list(catalog.SEQUENCE_TABLES[:expected_tables])
    migrate(url, "head")
    assert revision_of(url) == HEAD_REVISION


def test_downgrade_keeps_preexisting_tables_and_rows(database_url: str) -> None:
    url = database_url
    with psycopg.connect(url) as conn:
        org = conn.execute(
            "INSERT INTO organisations (name) VALUES ('Keep Me') RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        conn.execute("INSERT INTO tasks (organisation_id, name) VALUES (%s, 'standalone')", (org,))
    before = {t: catalog.dump_table(url, t) for t in ("organisations",)}
    migrate(url, "base", down=True)
    for table in CRM_TABLES:
        assert catalog.table_exists(url, table), table
    assert {t: catalog.dump_table(url, t) for t in ("organisations",)} == before
    assert catalog.rows(url, "SELECT name FROM tasks") == [("standalone",)]
    assert catalog.rows(url, "SELECT to_regprocedure('auth.uid()') IS NOT NULL")[0][0]


CUSTOM_CRM = """
CREATE SCHEMA auth;
CREATE TABLE auth.users (id uuid PRIMARY KEY, email text, instance_id uuid);
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS
  $$ SELECT '00000000-0000-0000-0000-000000000001'::uuid $$;
CREATE FUNCTION public.uuid_generate_v4() RETURNS uuid LANGUAGE sql AS
  $$ SELECT gen_random_uuid() $$;
CREATE FUNCTION public.update_updated_at_column() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN NEW.updated_at = now() + interval '0 seconds'; RETURN NEW; END $$;
CREATE TABLE organisations (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text,
  plan text DEFAULT 'pro');
CREATE TABLE profiles (id uuid PRIMARY KEY, organisation_id uuid, display text);
CREATE TABLE restaurants (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organisation_id uuid, name text, stars int);
CREATE TABLE task_templates (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text);
CREATE TABLE message_templates (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text);
CREATE TABLE tasks (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organisation_id uuid,
  name text, status text DEFAULT 'pending', legacy_flag boolean);
INSERT INTO organisations (name) VALUES ('Existing Org');
INSERT INTO tasks (name) VALUES ('existing task');
"""


def test_upgrade_leaves_existing_crm_objects_alone(empty_database_url: str) -> None:
    url = empty_database_url
    with psycopg.connect(url) as conn:
        conn.execute(CUSTOM_CRM)
    function_sql = "SELECT pg_get_functiondef(%s::regprocedure)"
    before = {
        "uid": catalog.rows(url, function_sql, ("auth.uid()",)),
        "uuid": catalog.rows(url, function_sql, ("public.uuid_generate_v4()",)),
        "updated": catalog.rows(url, function_sql, ("public.update_updated_at_column()",)),
        "orgs": catalog.dump_table(url, "organisations"),
        "tasks": catalog.dump_table(url, "tasks"),
        "cols": {
            t: catalog.columns(url, t)
            for t in ("organisations", "profiles", "restaurants", "task_templates", "tasks")
        },
        "users": catalog.columns(url, "users", "auth"),
    }
    migrate(url, "head")
    assert catalog.rows(url, function_sql, ("auth.uid()",)) == before["uid"]
    assert catalog.rows(url, function_sql, ("public.uuid_generate_v4()",)) == before["uuid"]
    assert (
        catalog.rows(url, function_sql, ("public.update_updated_at_column()",)) == before["updated"]
    )
    assert catalog.columns(url, "users", "auth") == before["users"]
    for table in ("organisations", "profiles", "restaurants", "task_templates"):
        assert catalog.columns(url, table) == before["cols"][table], table  # type: ignore[index]
    task_columns = catalog.columns(url, "tasks")
    assert task_columns[: len(before["cols"]["tasks"])] == before["cols"]["tasks"]  # type: ignore[index]
    assert [c[0] for c in task_columns[len(before["cols"]["tasks"]) :]] == [  # type: ignore[index]
        "sequence_instance_id",
        "sequence_step_order",
    ]
    assert catalog.rows(url, "SELECT name FROM tasks") == [("existing task",)]
    assert catalog.rows(url, "SELECT name FROM organisations") == [("Existing Org",)]
    migrate(url, "base", down=True)
    assert catalog.columns(url, "tasks") == before["cols"]["tasks"]  # type: ignore[index]
    assert catalog.rows(url, "SELECT name FROM tasks") == [("existing task",)]


def test_offline_sql_renders_every_revision() -> None:
    sql = offline_sql("base:head")
    for fragment in (
        "CREATE TABLE IF NOT EXISTS public.sequence_templates",
        "CREATE TABLE IF NOT EXISTS public.sequence_steps",
        "CREATE TABLE IF NOT EXISTS public.sequence_instances",
        "ADD COLUMN IF NOT EXISTS sequence_instance_id",
        "CREATE POLICY sequence_instances_org_policy",
        "seqctl_alembic_version",
    ):
        assert fragment in sql
    rollback = offline_sql("head:base", downgrade_sql=True)
    assert "DROP TABLE IF EXISTS sequence_templates CASCADE" in rollback
    assert "DROP COLUMN IF EXISTS sequence_step_order" in rollback

"""Adopting sequence tables that exist already (the application made them from the same design).

``db upgrade`` on a database with ``sequence_templates``/``sequence_steps``/
``sequence_instances`` but no seqctl version table would fail on the first ``CREATE
INDEX``. Instead, seqctl reads the catalog of those tables once and compares it with what
revisions 001–004 create (columns and types, constraints, indexes, triggers, policies,
row level security; revision 005's column and step types are accepted too):

- if seqctl can work with what it finds, every difference is listed, revision 004 is
  recorded, and only what is missing is applied: 004's delete-instance trigger (and its
  function) where absent, then revision 005 (idempotent). No row is written, and nothing
  the application made is changed or dropped;
- if it cannot (a table or a column seqctl needs is missing or of another type, or step
  rows that revision 005's CHECK would reject), nothing is changed and the error says
  exactly why (exit 1).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from ..errors import Refused
from ..vocabulary import StepType
from .connection import REVISION_IDS

SEQUENCE_TABLES = ("sequence_templates", "sequence_steps", "sequence_instances")
ADOPTED_REVISION = "004"
SUBJECT_LINE_REVISION = "005"  # adds sequence_steps.subject_line (LATER_COLUMNS)

# (column, type, NOT NULL) per table, as revisions 001-004 create them
EXPECTED_COLUMNS: Mapping[str, tuple[tuple[str, str, bool], ...]] = {
    "sequence_templates": (
        ("id", "uuid", True),
        ("organisation_id", "uuid", True),
        ("created_by", "uuid", False),
        ("name", "text", True),
        ("description", "text", False),
        ("tags", "text[]", False),
        ("is_active", "boolean", True),
        ("usage_count", "integer", True),
        ("metadata", "jsonb", False),
        ("created_at", "timestamp with time zone", True),
        ("updated_at", "timestamp with time zone", True),
    ),
    "sequence_steps": (
        ("id", "uuid", True),
        ("sequence_template_id", "uuid", True),
        ("step_order", "integer", True),
        ("name", "text", True),
        ("description", "text", False),
        ("task_template_id", "uuid", False),
        ("type", "text", True),
        ("priority", "text", True),
        ("message_template_id", "uuid", False),
        ("custom_message", "text", False),
        ("delay_value", "integer", True),
        ("delay_unit", "text", True),
        ("metadata", "jsonb", False),
        ("created_at", "timestamp with time zone", True),
        ("updated_at", "timestamp with time zone", True),
    ),
    "sequence_instances": (
        ("id", "uuid", True),
        ("sequence_template_id", "uuid", True),
        ("restaurant_id", "uuid", True),
        ("organisation_id", "uuid", True),
        ("name", "text", True),
        ("status", "text", True),
        ("current_step_order", "integer", False),
        ("total_steps", "integer", True),
        ("assigned_to", "uuid", False),
        ("created_by", "uuid", False),
        ("started_at", "timestamp with time zone", True),
        ("paused_at", "timestamp with time zone", False),
        ("completed_at", "timestamp with time zone", False),
        ("cancelled_at", "timestamp with time zone", False),
        ("metadata", "jsonb", False),
        ("created_at", "timestamp with time zone", True),
        ("updated_at", "timestamp with time zone", True),
    ),
    "tasks": (
        ("sequence_instance_id", "uuid", False),
        ("sequence_step_order", "integer", False),
    ),
}
# columns a later revision adds: accepted when present
LATER_COLUMNS = {("sequence_steps", "subject_line"): "text"}

_TYPES = (
    "'internal_activity'::text, 'social_message'::text, 'text'::text, 'email'::text, 'call'::text"
)
_ORG = (
    "(organisation_id IN ( SELECT profiles.organisation_id FROM profiles "
    "WHERE (profiles.id = auth.uid())))"
)
_STEPS = (
    "(sequence_template_id IN ( SELECT sequence_templates.id FROM sequence_templates "
    "WHERE (sequence_templates.organisation_id IN ( SELECT profiles.organisation_id "
    "FROM profiles WHERE (profiles.id = auth.uid())))))"
)
_ONE_OF = (
    "(((status = '{s}'::text) AND ({c} IS NOT NULL)) OR "
    "((status <> '{s}'::text) AND ({c} IS NULL)))"
)

EXPECTED_CONSTRAINTS: Mapping[str, str] = {
    "sequence_templates_pkey": "sequence_templates: PRIMARY KEY (id)",
    "sequence_templates_organisation_id_fkey": "sequence_templates: FOREIGN KEY "
    "(organisation_id) REFERENCES organisations(id) ON DELETE CASCADE",
    "sequence_templates_created_by_fkey": "sequence_templates: FOREIGN KEY (created_by) "
    "REFERENCES auth.users(id) ON DELETE SET NULL",
    "sequence_templates_name_check": "sequence_templates: CHECK (((length(name) >= 3) AND "
    "(length(name) <= 100)))",
    "sequence_templates_description_check": "sequence_templates: CHECK "
    "((length(description) <= 1000))",
    "sequence_steps_pkey": "sequence_steps: PRIMARY KEY (id)",
    "sequence_steps_sequence_template_id_fkey": "sequence_steps: FOREIGN KEY "
    "(sequence_template_id) REFERENCES sequence_templates(id) ON DELETE CASCADE",
    "sequence_steps_task_template_id_fkey": "sequence_steps: FOREIGN KEY (task_template_id) "
    "REFERENCES task_templates(id) ON DELETE SET NULL",
    "sequence_steps_message_template_id_fkey": "sequence_steps: FOREIGN KEY "
    "(message_template_id) REFERENCES message_templates(id) ON DELETE SET NULL",
    "sequence_steps_step_order_check": "sequence_steps: CHECK ((step_order > 0))",
    "sequence_steps_name_check": "sequence_steps: CHECK (((length(name) >= 3) AND "
    "(length(name) <= 100)))",
    "sequence_steps_description_check": "sequence_steps: CHECK ((length(description) <= 500))",
    "sequence_steps_type_check": f"sequence_steps: CHECK ((type = ANY (ARRAY[{_TYPES}])))",
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
    "sequence_instances_completed_check": "sequence_instances: CHECK ("
    + _ONE_OF.format(s="completed", c="completed_at")
    + ")",
    "sequence_instances_cancelled_check": "sequence_instances: CHECK ("
    + _ONE_OF.format(s="cancelled", c="cancelled_at")
    + ")",
    "sequence_instances_paused_check": "sequence_instances: CHECK ("
    + _ONE_OF.format(s="paused", c="paused_at")
    + ")",
    "tasks_sequence_instance_id_fkey": "tasks: FOREIGN KEY (sequence_instance_id) "
    "REFERENCES sequence_instances(id) ON DELETE SET NULL",
    "tasks_sequence_step_order_check": "tasks: CHECK (((sequence_step_order IS NULL) OR "
    "(sequence_step_order > 0)))",
    "tasks_sequence_consistency_check": "tasks: CHECK ((((sequence_instance_id IS NULL) AND "
    "(sequence_step_order IS NULL)) OR ((sequence_instance_id IS NOT NULL) AND "
    "(sequence_step_order IS NOT NULL))))",
}
# what revision 005 makes of a constraint: accepted as well
LATER_CONSTRAINTS = {
    "sequence_steps_type_check": f"sequence_steps: CHECK ((type = ANY (ARRAY[{_TYPES}, "
    "'demo_meeting'::text])))",
}

EXPECTED_INDEXES: Mapping[str, str] = {
    "idx_sequence_templates_org": "sequence_templates USING btree (organisation_id)",
    "idx_sequence_templates_active": "sequence_templates USING btree (is_active) "
    "WHERE (is_active = true)",
    "idx_sequence_templates_tags": "sequence_templates USING gin (tags)",
    "idx_sequence_steps_template": "sequence_steps USING btree (sequence_template_id)",
    "idx_sequence_steps_template_order": "sequence_steps USING btree "
    "(sequence_template_id, step_order)",
    "idx_sequence_steps_task_template": "sequence_steps USING btree (task_template_id) "
    "WHERE (task_template_id IS NOT NULL)",
    "idx_sequence_instances_template": "sequence_instances USING btree (sequence_template_id)",
    "idx_sequence_instances_restaurant": "sequence_instances USING btree (restaurant_id)",
    "idx_sequence_instances_org": "sequence_instances USING btree (organisation_id)",
    "idx_sequence_instances_status": "sequence_instances USING btree (status)",
    "idx_sequence_instances_assigned": "sequence_instances USING btree (assigned_to) "
    "WHERE (assigned_to IS NOT NULL)",
    "idx_sequence_instances_restaurant_status": "sequence_instances USING btree "
    "(restaurant_id, status)",
    "idx_sequence_instances_org_status": "sequence_instances USING btree (organisation_id, status)",
    "idx_tasks_sequence_instance": "tasks USING btree (sequence_instance_id) "
    "WHERE (sequence_instance_id IS NOT NULL)",
    "idx_tasks_sequence_instance_order": "tasks USING btree (sequence_instance_id, "
    "sequence_step_order) WHERE (sequence_instance_id IS NOT NULL)",
    "idx_tasks_sequence_status": "tasks USING btree (sequence_instance_id, status) "
    "WHERE (sequence_instance_id IS NOT NULL)",
}

EXPECTED_TRIGGERS: Mapping[str, str] = {
    "update_sequence_templates_updated_at": "sequence_templates",
    "update_sequence_steps_updated_at": "sequence_steps",
    "update_sequence_instances_updated_at": "sequence_instances",
    "tasks_clear_sequence_step_order": "tasks",
}

# policy -> (table, command, USING, WITH CHECK), whitespace-normalised
EXPECTED_POLICIES: Mapping[str, tuple[str, str, str | None, str | None]] = {
    "sequence_templates_org_policy": ("sequence_templates", "ALL", _ORG, None),
    "sequence_templates_insert_policy": ("sequence_templates", "INSERT", None, _ORG),
    "sequence_steps_org_policy": ("sequence_steps", "ALL", _STEPS, None),
    "sequence_steps_insert_policy": ("sequence_steps", "INSERT", None, _STEPS),
    "sequence_instances_org_policy": ("sequence_instances", "ALL", _ORG, None),
    "sequence_instances_insert_policy": ("sequence_instances", "INSERT", None, _ORG),
}

STEP_TYPES = tuple(t.value for t in StepType)

# revision 004's fix, applied where missing (see migrations/versions/004_*.py)
CLEAR_STEP_ORDER_SQL = r"""
CREATE OR REPLACE FUNCTION public.seqctl_tasks_clear_sequence_step_order() RETURNS trigger
  LANGUAGE plpgsql AS $fn$
  BEGIN
    NEW.sequence_step_order := NULL;
    RETURN NEW;
  END
  $fn$;

CREATE TRIGGER tasks_clear_sequence_step_order
  BEFORE UPDATE OF sequence_instance_id ON tasks
  FOR EACH ROW
  WHEN (OLD.sequence_instance_id IS NOT NULL AND NEW.sequence_instance_id IS NULL)
  EXECUTE FUNCTION public.seqctl_tasks_clear_sequence_step_order();
"""


@dataclass(frozen=True)
class Catalog:
    """The sequence system's objects as found in schema ``public``."""

    tables: frozenset[str]
    columns: Mapping[str, Mapping[str, tuple[str, bool]]]  # table -> column -> (type, NOT NULL)
    constraints: Mapping[str, str]
    indexes: Mapping[str, str]
    triggers: Mapping[str, str]
    policies: Mapping[str, tuple[str, str, str | None, str | None]]
    rls: Mapping[str, bool]


@dataclass
class AdoptionReport:
    """What adoption found (``differences``) and did (``applied``)."""

    revision: str = ADOPTED_REVISION
    differences: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)


def _squash(sql: str | None) -> str | None:
    return re.sub(r"\s+", " ", sql).strip() if sql is not None else None


def read_catalog(conn: Connection) -> Catalog:
    """The catalog of the sequence tables and of the tasks' sequence columns (5 queries)."""
    tables = list(SEQUENCE_TABLES) + ["tasks"]
    rel = "c.relnamespace = 'public'::regnamespace AND c.relname = ANY(:tables)"
    found = conn.execute(
        text(f"SELECT c.relname, c.relrowsecurity FROM pg_class c WHERE {rel} AND c.relkind = 'r'"),
        {"tables": tables},
    ).all()
    columns: dict[str, dict[str, tuple[str, bool]]] = {}
    for table, column, type_name, not_null in conn.execute(
        text(f"""
            SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE {rel} AND a.attnum > 0 AND NOT a.attisdropped
        """),
        {"tables": tables},
    ):
        columns.setdefault(table, {})[column] = (type_name, bool(not_null))
    constraints = {
        name: f"{table}: {definition}"
        for name, table, definition in conn.execute(
            text(f"""
                SELECT con.conname, c.relname, pg_get_constraintdef(con.oid)
                FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
                WHERE {rel}
            """),
            {"tables": tables},
        )
    }
    indexes = {
        name: re.sub(r"^CREATE (UNIQUE )?INDEX \S+ ON public\.", "", definition)
        for name, definition in conn.execute(
            text(f"""
                SELECT i.relname, pg_get_indexdef(x.indexrelid)
                FROM pg_index x
                JOIN pg_class i ON i.oid = x.indexrelid
                JOIN pg_class c ON c.oid = x.indrelid
                WHERE {rel}
            """),
            {"tables": tables},
        )
    }
    triggers: dict[str, str] = dict(
        conn.execute(
            text(
                "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c "
                f"ON c.oid = t.tgrelid WHERE {rel} AND NOT t.tgisinternal"
            ),
            {"tables": tables},
        ).all()
    )
    policies = {
        name: (table, cmd, _squash(qual), _squash(check))
        for table, name, cmd, qual, check in conn.execute(
            text(
                "SELECT tablename, policyname, cmd, qual, with_check FROM pg_policies "
                "WHERE schemaname = 'public' AND tablename = ANY(:tables)"
            ),
            {"tables": tables},
        )
    }
    return Catalog(
        tables=frozenset(str(r[0]) for r in found),
        columns=columns,
        constraints=constraints,
        indexes=indexes,
        triggers=triggers,
        policies=policies,
        rls={str(r[0]): bool(r[1]) for r in found},
    )


def compare(found: Catalog) -> tuple[list[str], list[str]]:
    """(blocking problems, other differences) of ``found`` against revisions 001-004."""
    blocking: list[str] = []
    differences: list[str] = []
    for table, expected in EXPECTED_COLUMNS.items():
        if table not in found.tables:
            blocking.append(f"table public.{table} is missing")
            continue
        have = found.columns.get(table, {})
        for column, type_name, not_null in expected:
            if column not in have:
                blocking.append(f"column {table}.{column} ({type_name}) is missing")
            elif have[column][0] != type_name:
                blocking.append(
                    f"column {table}.{column} is {have[column][0]}, seqctl needs {type_name}"
                )
            elif have[column][1] != not_null:
                differences.append(
                    f"column {table}.{column} is {'NOT NULL' if have[column][1] else 'nullable'}"
                    f" (the design: {'NOT NULL' if not_null else 'nullable'})"
                )
        if table == "tasks":
            continue
        known = {c for c, _, _ in expected} | {c for t, c in LATER_COLUMNS if t == table}
        for column in sorted(set(have) - known):
            differences.append(f"extra column {table}.{column} (left alone)")
        for (later_table, column), type_name in LATER_COLUMNS.items():
            if later_table == table and column in have and have[column][0] != type_name:
                blocking.append(
                    f"column {table}.{column} is {have[column][0]}, seqctl needs {type_name}"
                )
    if blocking:
        return blocking, differences
    for name, definition in EXPECTED_CONSTRAINTS.items():
        got = found.constraints.get(name)
        if got is None:
            differences.append(f"constraint {name} is missing ({definition})")
        elif got != definition and got != LATER_CONSTRAINTS.get(name):
            differences.append(f"constraint {name} differs: {got} (the design: {definition})")
    for name, definition in EXPECTED_INDEXES.items():
        got = found.indexes.get(name)
        if got is None:
            differences.append(f"index {name} is missing (ON {definition})")
        elif got != definition:
            differences.append(f"index {name} differs: ON {got} (the design: ON {definition})")
    for name, table in EXPECTED_TRIGGERS.items():
        if found.triggers.get(name) != table and name != "tasks_clear_sequence_step_order":
            differences.append(f"trigger {name} on {table} is missing")
    for table in SEQUENCE_TABLES:
        if not found.rls.get(table):
            differences.append(f"row level security is not enabled on {table}")
    for name, policy in EXPECTED_POLICIES.items():
        found_policy = found.policies.get(name)
        if found_policy is None:
            differences.append(f"policy {name} on {policy[0]} is missing")
        elif found_policy != policy:
            differences.append(f"policy {name} on {policy[0]} differs from the design")
    for name, policy in found.policies.items():
        if name not in EXPECTED_POLICIES and policy[0] in SEQUENCE_TABLES:
            differences.append(f"extra policy {name} on {policy[0]} (left alone)")
    return blocking, differences


def needs_adoption(conn: Connection) -> bool:
    """Sequence tables (or the tasks' sequence columns) exist, but no seqctl revision does."""
    from .connection import current_revision

    if current_revision(conn) is not None:
        return False
    return bool(
        conn.execute(
            text("""
                SELECT to_regclass('public.sequence_templates') IS NOT NULL
                    OR to_regclass('public.sequence_steps') IS NOT NULL
                    OR to_regclass('public.sequence_instances') IS NOT NULL
                    OR EXISTS (SELECT 1 FROM pg_attribute
                               WHERE attrelid = to_regclass('public.tasks')
                                 AND attname = 'sequence_instance_id' AND NOT attisdropped)
            """)
        ).scalar()
    )


def adopt_existing_tables(conn: Connection, target: str = "head") -> AdoptionReport | None:
    """Adopt existing sequence tables (see the module's docstring); None if there are none.

    Runs inside the caller's transaction; on refusal nothing has been changed."""
    if not needs_adoption(conn):
        return None
    adoptable = REVISION_IDS[REVISION_IDS.index(ADOPTED_REVISION) :]
    if target not in ("head", "heads", *adoptable) and not target.startswith("+"):
        raise Refused(
            f"the database already has the sequence tables (made without seqctl); they can be "
            f"adopted only by an upgrade to revision {ADOPTED_REVISION} or later, not {target!r}",
            hint="run `seqctl db upgrade` (to head)",
        )
    found = read_catalog(conn)
    blocking, differences = compare(found)
    if not blocking and "sequence_steps" in found.tables:
        rows = conn.execute(
            text(
                "SELECT type, count(*) FROM public.sequence_steps "
                "WHERE type IS NULL OR type <> ALL(:types) GROUP BY type ORDER BY type"
            ),
            {"types": list(STEP_TYPES)},
        ).all()
        for step_type, count in rows:
            blocking.append(
                f"{count} sequence step(s) have type {step_type!r}, which seqctl does not know "
                f"(known: {', '.join(STEP_TYPES)})"
            )
    if blocking:
        raise Refused(
            "cannot adopt the existing sequence tables; nothing was changed: "
            + "; ".join(blocking),
            hint="make the tables match the design (database-schema.md, migrations 001-004) "
            "or rename them away; seqctl never alters or drops tables it did not create",
        )
    # The application's own 20251122 migration is revision 005: where it ran, the tables
    # are adopted at 005 (seqctl then never rolls it back); else 005 is applied after.
    revision = (
        SUBJECT_LINE_REVISION
        if "subject_line" in found.columns.get("sequence_steps", {})
        else ADOPTED_REVISION
    )
    report = AdoptionReport(revision=revision, differences=differences)
    added_trigger = "tasks_clear_sequence_step_order" not in found.triggers
    if added_trigger:
        conn.execute(text(CLEAR_STEP_ORDER_SQL))
        report.applied.append(
            "trigger tasks_clear_sequence_step_order (revision 004: deleting an instance "
            "keeps its tasks, unlinked)"
        )
    from alembic import command

    from .migrate import ADOPTION_TABLE_QUALIFIED, alembic_config

    command.stamp(alembic_config(conn), revision)
    conn.execute(
        text(
            f"CREATE TABLE {ADOPTION_TABLE_QUALIFIED} (revision text NOT NULL, "
            "added_trigger boolean NOT NULL, differences jsonb NOT NULL, "
            "adopted_at timestamptz NOT NULL DEFAULT now())"
        )
    )
    conn.execute(
        text(
            f"INSERT INTO {ADOPTION_TABLE_QUALIFIED} (revision, added_trigger, differences) "
            "VALUES (:r, :t, CAST(:d AS jsonb))"
        ),
        {"r": revision, "t": added_trigger, "d": json.dumps(differences)},
    )
    report.applied.append(f"recorded revision {revision} (adopted)")
    return report


@dataclass(frozen=True)
class Adoption:
    revision: str
    added_trigger: bool


def adoption(conn: Connection) -> Adoption | None:
    """How the sequence tables were adopted, or None if seqctl created them."""
    from .migrate import ADOPTION_TABLE_QUALIFIED

    if conn.execute(text("SELECT to_regclass(:t)"), {"t": ADOPTION_TABLE_QUALIFIED}).scalar():
        row = conn.execute(
            text(f"SELECT revision, added_trigger FROM {ADOPTION_TABLE_QUALIFIED}")
        ).first()
        if row is not None:
            return Adoption(str(row.revision), bool(row.added_trigger))
    return None


def release(conn: Connection, adopted: Adoption) -> None:
    """``db downgrade base`` of an adopted database: remove only what seqctl added (its
    trigger, its bookkeeping); the application's tables and rows stay exactly as they were.
    The caller has already rolled back the revisions after the adopted one."""
    from alembic import command

    from .migrate import ADOPTION_TABLE_QUALIFIED, alembic_config

    if adopted.added_trigger:
        conn.execute(
            text(
                "DROP TRIGGER IF EXISTS tasks_clear_sequence_step_order ON public.tasks; "
                "DROP FUNCTION IF EXISTS public.seqctl_tasks_clear_sequence_step_order()"
            )
        )
    command.stamp(alembic_config(conn), "base")
    conn.execute(text(f"DROP TABLE {ADOPTION_TABLE_QUALIFIED}"))

"""SQLAlchemy Core tables mirroring the migrations and the CRM tables they build on.

Only the columns seqctl reads or writes are declared; the migrations are the source of
truth for the schema (a test compares these declarations with the catalog). The column
lists of seqctl's hand-written statements take their types from here (:func:`typed`).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.dialects.postgresql.base import PGDialect

metadata = MetaData()

organisations = Table(
    "organisations",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("name", Text, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("email", Text),
    schema="auth",
)

profiles = Table(
    "profiles",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("organisation_id", UUID(as_uuid=False), ForeignKey("organisations.id")),
    Column("email", Text),
    Column("name", Text),
)

restaurants = Table(
    "restaurants",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("organisation_id", UUID(as_uuid=False), ForeignKey("organisations.id")),
    Column("name", Text, nullable=False),
    Column("email", Text),
    Column("phone", Text),
    Column("address", Text),
    Column("city", Text),
    Column("website", Text),
    Column("cuisine", ARRAY(Text)),
    Column("contact_name", Text),
    Column("contact_email", Text),
    Column("contact_phone", Text),
    Column("organisation_name", Text),
    Column("assigned_sales_rep", UUID(as_uuid=False)),
)

task_templates = Table(
    "task_templates",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("organisation_id", UUID(as_uuid=False), nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text),
    Column("type", Text),
    Column("priority", Text),
    Column("default_message", Text),
    Column("subject_line", Text),
    Column("is_active", Boolean),
)

message_templates = Table(
    "message_templates",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("organisation_id", UUID(as_uuid=False), nullable=False),
    Column("name", Text, nullable=False),
    Column("type", Text),
    Column("message_content", Text),
    Column("subject_line", Text),
    Column("is_active", Boolean),
)

sequence_templates = Table(
    "sequence_templates",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("organisation_id", UUID(as_uuid=False), ForeignKey("organisations.id"), nullable=False),
    Column("created_by", UUID(as_uuid=False)),
    Column("name", Text, nullable=False),
    Column("description", Text),
    Column("tags", ARRAY(Text)),
    Column("is_active", Boolean, nullable=False),
    Column("usage_count", Integer, nullable=False),
    Column("metadata", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

sequence_steps = Table(
    "sequence_steps",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column(
        "sequence_template_id",
        UUID(as_uuid=False),
        ForeignKey("sequence_templates.id"),
        nullable=False,
    ),
    Column("step_order", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text),
    Column("task_template_id", UUID(as_uuid=False)),
    Column("type", Text, nullable=False),
    Column("priority", Text, nullable=False),
    Column("message_template_id", UUID(as_uuid=False)),
    Column("custom_message", Text),
    Column("subject_line", Text),  # revision 005
    Column("delay_value", Integer, nullable=False),
    Column("delay_unit", Text, nullable=False),
    Column("metadata", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

sequence_instances = Table(
    "sequence_instances",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column(
        "sequence_template_id",
        UUID(as_uuid=False),
        ForeignKey("sequence_templates.id"),
        nullable=False,
    ),
    Column("restaurant_id", UUID(as_uuid=False), ForeignKey("restaurants.id"), nullable=False),
    Column("organisation_id", UUID(as_uuid=False), ForeignKey("organisations.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("current_step_order", Integer),
    Column("total_steps", Integer, nullable=False),
    Column("assigned_to", UUID(as_uuid=False)),
    Column("created_by", UUID(as_uuid=False)),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("paused_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("metadata", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("organisation_id", UUID(as_uuid=False), nullable=False),
    Column("restaurant_id", UUID(as_uuid=False)),
    Column("task_template_id", UUID(as_uuid=False)),
    Column("message_template_id", UUID(as_uuid=False)),
    Column("name", Text, nullable=False),
    Column("description", Text),
    Column("type", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("priority", Text, nullable=False),
    Column("message", Text),
    Column("message_rendered", Text),
    Column("subject_line", Text),
    Column("subject_line_rendered", Text),
    Column("due_date", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("assigned_to", UUID(as_uuid=False)),
    Column("created_by", UUID(as_uuid=False)),
    Column("metadata", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("sequence_instance_id", UUID(as_uuid=False), ForeignKey("sequence_instances.id")),
    Column("sequence_step_order", Integer),
)


_POSTGRESQL = PGDialect()  # type: ignore[no-untyped-call]  # (SQLAlchemy leaves it untyped)


def typed(table: Table, names: Iterable[str]) -> str:
    """``name text, tags text[], …``: columns of ``table`` with their PostgreSQL types as
    declared here, for the record of ``jsonb_to_recordset(…) AS d(…)``."""
    return ", ".join(
        f"{name} {str(table.c[name].type.compile(dialect=_POSTGRESQL)).lower()}" for name in names
    )

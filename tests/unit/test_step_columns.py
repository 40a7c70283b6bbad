"""A step's columns are written once: STEP_FIELDS, with their types from the Core table."""

from __future__ import annotations

from seqctl.db import tables
from seqctl.sync import actual, apply_plan

BOOKKEEPING = {"id", "sequence_template_id", "step_order", "created_at", "updated_at"}


def test_step_fields_are_the_tables_content_columns() -> None:
    declared = {c.name for c in tables.sequence_steps.c}
    assert set(actual.STEP_FIELDS) == declared - BOOKKEEPING
    assert len(set(actual.STEP_FIELDS)) == len(actual.STEP_FIELDS)


def test_statements_name_every_step_field_with_its_declared_type() -> None:
    for field in actual.STEP_FIELDS:
        column = tables.sequence_steps.c[field]
        type_name = str(column.type.compile(dialect=tables._POSTGRESQL)).lower()
        records = apply_plan.record_statements()
        assert f" {field} {type_name}" in records.step_record
        assert f"{field} = d.{field}" in records.update_steps
        assert f"d.{field}" in records.insert_steps
        assert f"s.{field}" in str(actual.STEPS_AS_JSON)


def test_template_record_takes_its_types_from_the_table() -> None:
    assert apply_plan.record_statements().template_record == (
        "d(id uuid, name text, description text, tags text[], is_active boolean, metadata jsonb)"
    )


def test_plan_row_types_hold_the_fields_sync_reads_and_writes() -> None:
    from seqctl.sync import plan

    assert set(plan.TemplateRow.__annotations__) == set(actual.TEMPLATE_FIELDS)
    assert set(plan.StepFields.__annotations__) == set(actual.STEP_FIELDS)
    assert plan.StepRow.__required_keys__ == {"step_order", *actual.STEP_FIELDS}
    assert apply_plan.StepRecord.__required_keys__ == {
        "id",
        "template_id",
        "moved",
        "step_order",
        *actual.STEP_FIELDS,
    }

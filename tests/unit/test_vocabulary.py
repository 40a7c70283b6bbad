"""The vocabulary module says what the JSON Schema, the plan types and the migrations say."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path

from seqctl import vocabulary as v
from seqctl.resources import migrations_dir, schema_path
from seqctl.sync import export, plan
from seqctl.templates.spec import StepSpec

SCHEMA = json.loads(Path(schema_path("sequence-template.schema.json")).read_text(encoding="utf-8"))
STEP = SCHEMA["$defs"]["step"]["properties"]


def test_step_words_and_defaults_are_the_schemas() -> None:
    assert list(v.StepType) == STEP["type"]["enum"]
    assert list(v.Priority) == STEP["priority"]["enum"]
    assert list(v.DelayUnit) == STEP["delay_unit"]["enum"]
    for name, default in v.STEP_DEFAULTS.items():
        assert STEP[name]["default"] == default, name
    assert STEP["delay_value"]["maximum"] == v.MAX_DELAY_VALUE
    steps = SCHEMA["properties"]["steps"]
    assert (steps["minItems"], steps["maxItems"]) == (v.MIN_STEPS, v.MAX_STEPS)


def test_the_model_and_export_use_the_same_defaults() -> None:
    step = StepSpec(1, "Intro", "call")
    assert (step.priority, step.delay_value, step.delay_unit) == tuple(v.STEP_DEFAULTS.values())
    assert {k: export.STEP_DEFAULTS[k] for k in v.STEP_DEFAULTS} == v.STEP_DEFAULTS


def test_plan_actions_are_the_plan_types() -> None:
    assert list(v.TemplateAction) == list(typing.get_args(plan.TemplateKind))
    assert list(v.StepAction) == list(typing.get_args(plan.StepKind))


def test_instance_statuses_are_the_migrations() -> None:
    sql = (Path(migrations_dir()) / "versions" / "003_create_sequence_instances.py").read_text()
    found = re.search(r"status TEXT[^\n]*CHECK \(status IN \(([^)]*)\)\)", sql)
    assert found is not None
    assert [s.strip(" '") for s in found.group(1).split(",")] == list(v.InstanceStatus)


def test_the_word_lists_elsewhere_are_the_vocabularys() -> None:
    from seqctl.db import adopt
    from seqctl.templates import spec

    assert spec.STEP_TYPES == adopt.STEP_TYPES == tuple(v.StepType)
    assert spec.PRIORITIES == tuple(v.Priority)
    assert spec.DELAY_UNITS == tuple(v.DelayUnit)

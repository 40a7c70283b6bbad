"""The JSON Schema of template files and the database's CHECK constraints agree.

1. Property: every template the schema accepts is accepted by PostgreSQL through the real
   sync insert path (and a second plan shows no changes: what was written reads back equal).
2. Boundaries: for each CHECK, the value just inside is accepted and the value just outside
   is rejected, by the schema and by the database alike (the database side by a direct
   INSERT, bypassing validation).

Task and message template references are drawn from the demo organisation: whether a name
resolves is a property of the organisation, not of the schema.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from seqctl.db.demo import MESSAGE_TEMPLATES, TASK_TEMPLATES, demo_id
from seqctl.runtime.lookup import Organisation
from seqctl.sync.actual import read_state
from seqctl.sync.apply_plan import make_plan, sync
from seqctl.templates.schema import load_schema, schema_checker, schema_validator
from seqctl.templates.spec import DELAY_UNITS, PRIORITIES, STEP_TYPES, StepSpec, TemplateSpec

INT_MAX = 2**31 - 1
SCHEMA = load_schema()
TASK_REFS = [t[0] for t in TASK_TEMPLATES] + [
    demo_id("task_template", t[0]) for t in TASK_TEMPLATES
]
MESSAGE_REFS = [m[0] for m in MESSAGE_TEMPLATES] + [
    demo_id("message_template", m[0]) for m in MESSAGE_TEMPLATES
]

# what a UTF-8 YAML file can hold and the schema allows: no NUL, no lone surrogates
CHARACTERS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")


def text(min_size: int = 0, max_size: int | None = None) -> st.SearchStrategy[str]:
    return st.text(CHARACTERS, min_size=min_size, max_size=max_size)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
METADATA = st.dictionaries(text(max_size=10), JSON_VALUES, max_size=4)
NAME = text(3, 100)


def optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A mapping in which each of ``fields`` may be left out."""
    return st.fixed_dictionaries({}, optional=fields)


STEP = st.builds(
    lambda required, extra: {**required, **extra},
    st.fixed_dictionaries({"name": NAME, "type": st.sampled_from(STEP_TYPES)}),
    optional(
        priority=st.sampled_from(PRIORITIES),
        description=text(max_size=500),
        delay_value=st.integers(0, INT_MAX),
        delay_unit=st.sampled_from(DELAY_UNITS),
        task_template=st.sampled_from(TASK_REFS),
        message_template=st.sampled_from(MESSAGE_REFS),
        custom_message=text(max_size=200),
        subject_line=text(max_size=200),
        metadata=METADATA,
    ),
)
DOCUMENT = st.builds(
    lambda required, extra: {**required, **extra},
    st.fixed_dictionaries({"name": NAME, "steps": st.lists(STEP, min_size=1, max_size=12)}),
    optional(
        key=st.from_regex(r"\A[a-z0-9][a-z0-9_-]{0,62}\Z"),
        description=text(max_size=1000),
        tags=st.lists(text(1, 20), unique=True, max_size=4),
        is_active=st.booleans(),
        metadata=METADATA.filter(lambda m: "seqctl" not in m),
    ),
)


def to_spec(document: dict[str, Any]) -> TemplateSpec:
    """The TemplateSpec of a schema-valid document, defaults applied (as validate builds it)."""
    steps = tuple(
        StepSpec(
            step_order=i + 1,
            name=s["name"],
            type=s["type"],
            priority=s.get("priority", "medium"),
            description=s.get("description"),
            delay_value=s.get("delay_value", 0),
            delay_unit=s.get("delay_unit", "days"),
            task_template=s.get("task_template"),
            message_template=s.get("message_template"),
            custom_message=s.get("custom_message"),
            metadata=s.get("metadata", {}),
            subject_line=s.get("subject_line"),
        )
        for i, s in enumerate(document["steps"])
    )
    return TemplateSpec(
        key=document.get("key", "generated"),
        name=document["name"],
        steps=steps,
        description=document.get("description"),
        tags=tuple(document.get("tags", ())),
        is_active=document.get("is_active", True),
        metadata=document.get("metadata", {}),
        source="sequences/generated.yaml",
    )


def schema_accepts(document: dict[str, Any]) -> bool:
    """The verdict of the reference validator, checked against seqctl's compiled checker."""
    reference = schema_validator().is_valid(document)
    assert reference == (not schema_checker()(document)), document
    return bool(reference)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(document=DOCUMENT)
def test_every_schema_valid_template_is_stored(
    engine: Engine, demo_org: str, document: dict[str, Any]
) -> None:
    assert schema_accepts(document)
    spec = to_spec(json.loads(json.dumps(document)))
    org = Organisation(demo_org, "Demo")
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            plan = sync(conn, [spec], org)
            assert plan.counts()["create"] == 1
            stored = read_state(conn, org)
            assert len(stored.managed[0].steps) == len(spec.steps)
            assert not make_plan(conn, [spec], org).has_changes  # reads back equal
        finally:
            transaction.rollback()


# -- boundaries -----------------------------------------------------------------------

BASE_STEP = {"name": "Step", "type": "call"}
TEMPLATE_CASES: list[tuple[str, Any, bool]] = [
    ("name", "ab", False),
    ("name", "abc", True),
    ("name", "n" * 100, True),
    ("name", "n" * 101, False),
    ("name", "😀" * 100, True),
    ("name", "😀" * 101, False),
    ("description", "d" * 1000, True),
    ("description", "d" * 1001, False),
]
STEP_CASES: list[tuple[str, Any, bool]] = [
    ("name", "ab", False),
    ("name", "abc", True),
    ("name", "n" * 100, True),
    ("name", "n" * 101, False),
    ("name", "é" * 101, False),
    ("description", "d" * 500, True),
    ("description", "d" * 501, False),
    ("delay_value", -1, False),
    ("delay_value", 0, True),
    ("delay_value", INT_MAX, True),
    ("delay_value", INT_MAX + 1, False),
    *[("type", value, True) for value in STEP_TYPES],
    ("type", "fax", False),
    ("type", "Call", False),
    *[("priority", value, True) for value in PRIORITIES],
    ("priority", "urgent", False),
    *[("delay_unit", value, True) for value in DELAY_UNITS],
    ("delay_unit", "weeks", False),
    ("subject_line", "", True),
    ("subject_line", "s" * 10000, True),  # revision 005: text without a limit
]


@contextlib.contextmanager
def rolled_back(url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(url) as conn:
        try:
            yield conn
        finally:
            conn.rollback()


def database_accepts(url: str, org: str, template: dict[str, Any], step: dict[str, Any]) -> bool:
    """A direct INSERT of the template and its step, bypassing all validation."""
    values = {
        "priority": "medium",
        "description": None,
        "delay_value": 0,
        "delay_unit": "days",
        **step,
    }
    with rolled_back(url) as conn:
        try:
            template_id = conn.execute(
                "INSERT INTO sequence_templates (organisation_id, name, description) "
                "VALUES (%s, %s, %s) RETURNING id",
                (org, template["name"], template.get("description")),
            ).fetchone()[0]  # type: ignore[index]
            conn.execute(
                "INSERT INTO sequence_steps (sequence_template_id, step_order, name, type, "
                "priority, description, delay_value, delay_unit, subject_line) "
                "VALUES (%s, 1, %s, %s, %s, %s, %s, %s, %s)",
                (
                    template_id,
                    values["name"],
                    values["type"],
                    values["priority"],
                    values["description"],
                    values["delay_value"],
                    values["delay_unit"],
                    values.get("subject_line"),
                ),
            )
        except (psycopg.errors.CheckViolation, psycopg.errors.NumericValueOutOfRange):
            return False
    return True


@pytest.mark.parametrize(
    ("field", "value", "valid"),
    TEMPLATE_CASES,
    ids=[f"{f}-{len(v) if isinstance(v, str) else v}-{ok}" for f, v, ok in TEMPLATE_CASES],
)
def test_template_boundaries(
    database_url: str, demo_org: str, field: str, value: Any, valid: bool
) -> None:
    document = {"name": "Template", field: value, "steps": [BASE_STEP]}
    assert schema_accepts(document) is valid
    assert database_accepts(database_url, demo_org, document, BASE_STEP) is valid


@pytest.mark.parametrize(
    ("field", "value", "valid"),
    STEP_CASES,
    ids=[f"{f}-{len(v) if isinstance(v, str) else v}-{ok}" for f, v, ok in STEP_CASES],
)
def test_step_boundaries(
    database_url: str, demo_org: str, field: str, value: Any, valid: bool
) -> None:
    step = {**BASE_STEP, field: value}
    document = {"name": "Template", "steps": [step]}
    assert schema_accepts(document) is valid
    assert database_accepts(database_url, demo_org, document, step) is valid


def test_step_count_boundaries() -> None:
    """1 to 50 steps: the schema's own limit (the database has none, but total_steps > 0)."""
    steps = [{"name": f"Step {i}", "type": "call"} for i in range(51)]
    assert not schema_accepts({"name": "Template", "steps": []})
    assert schema_accepts({"name": "Template", "steps": steps[:1]})
    assert schema_accepts({"name": "Template", "steps": steps[:50]})
    assert not schema_accepts({"name": "Template", "steps": steps})


def test_schema_enums_are_the_database_enums() -> None:
    step = SCHEMA["$defs"]["step"]["properties"]
    assert tuple(step["type"]["enum"]) == STEP_TYPES
    assert tuple(step["priority"]["enum"]) == PRIORITIES
    assert tuple(step["delay_unit"]["enum"]) == DELAY_UNITS


def test_step_types_are_those_of_the_check_constraints(database_url: str) -> None:
    """Every step type (demo_meeting too, revision 005) is allowed on sequence_steps and on
    the tasks the steps make; the schema's enum is exactly sequence_steps' list."""
    with rolled_back(database_url) as conn:
        definitions = dict(
            conn.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conname IN ('sequence_steps_type_check', 'tasks_type_check')"
            ).fetchall()
        )
    allowed = {
        name: tuple(re.findall(r"'([a-z_]+)'::text", definition))
        for name, definition in definitions.items()
    }
    assert allowed["sequence_steps_type_check"] == STEP_TYPES
    assert set(STEP_TYPES) <= set(allowed["tasks_type_check"])
    assert "demo_meeting" in SCHEMA["$defs"]["step"]["properties"]["type"]["enum"]

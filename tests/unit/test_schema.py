"""The JSON Schema: its limits are the design document's CHECK constraints, and the compiled
checker seqctl runs agrees with jsonschema (the reference) on every case, including random
documents (hypothesis)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqctl.templates.schema import (
    _jsonschema_checker,
    load_schema,
    schema_checker,
    schema_text,
    schema_validator,
)
from seqctl.templates.schema_check import UnsupportedSchema, compile_schema, did_you_mean

BASE: dict[str, Any] = {"name": "Abc", "steps": [{"name": "Abc", "type": "call"}]}
INT_MAX = 2**31 - 1

# (id, where, value, valid): set BASE[where…] = value
BOUNDARIES: list[tuple[str, tuple[Any, ...], Any, bool]] = [
    ("name-2", ("name",), "ab", False),
    ("name-3", ("name",), "abc", True),
    ("name-100", ("name",), "n" * 100, True),
    ("name-101", ("name",), "n" * 101, False),
    ("name-100-multibyte", ("name",), "é" * 100, True),
    ("name-101-multibyte", ("name",), "é" * 101, False),
    ("name-100-astral", ("name",), "🍕" * 100, True),
    ("name-3-astral", ("name",), "🍕" * 3, True),
    ("name-2-astral", ("name",), "🍕" * 2, False),
    ("name-nul", ("name",), "ab\x00c", False),
    ("name-not-string", ("name",), False, False),
    ("description-empty", ("description",), "", True),
    ("description-1000", ("description",), "d" * 1000, True),
    ("description-1001", ("description",), "d" * 1001, False),
    ("description-nul", ("description",), "\x00", False),
    ("description-null", ("description",), None, False),
    ("step-name-2", ("steps", 0, "name"), "ab", False),
    ("step-name-100", ("steps", 0, "name"), "s" * 100, True),
    ("step-name-101", ("steps", 0, "name"), "s" * 101, False),
    ("step-description-500", ("steps", 0, "description"), "s" * 500, True),
    ("step-description-501", ("steps", 0, "description"), "s" * 501, False),
    ("delay-0", ("steps", 0, "delay_value"), 0, True),
    ("delay--1", ("steps", 0, "delay_value"), -1, False),
    ("delay-int-max", ("steps", 0, "delay_value"), INT_MAX, True),
    ("delay-int-max+1", ("steps", 0, "delay_value"), INT_MAX + 1, False),
    ("delay-float-integral", ("steps", 0, "delay_value"), 2.0, True),
    ("delay-float", ("steps", 0, "delay_value"), 1.5, False),
    ("delay-bool", ("steps", 0, "delay_value"), True, False),
    ("delay-string", ("steps", 0, "delay_value"), "1", False),
    *[
        (f"type-{t}", ("steps", 0, "type"), t, True)
        for t in ("internal_activity", "social_message", "text", "email", "call")
    ],
    ("type-capitalised", ("steps", 0, "type"), "Call", False),
    ("type-empty", ("steps", 0, "type"), "", False),
    *[(f"priority-{p}", ("steps", 0, "priority"), p, True) for p in ("low", "medium", "high")],
    ("priority-urgent", ("steps", 0, "priority"), "urgent", False),
    *[(f"unit-{u}", ("steps", 0, "delay_unit"), u, True) for u in ("minutes", "hours", "days")],
    ("unit-weeks", ("steps", 0, "delay_unit"), "weeks", False),
    ("steps-0", ("steps",), [], False),
    ("steps-50", ("steps",), [{"name": f"Step {i}", "type": "text"} for i in range(50)], True),
    ("steps-51", ("steps",), [{"name": f"Step {i}", "type": "text"} for i in range(51)], False),
    ("steps-not-list", ("steps",), {"name": "Abc", "type": "call"}, False),
    ("tags-empty-list", ("tags",), [], True),
    ("tags-unique", ("tags",), ["a", "b"], True),
    ("tags-repeat", ("tags",), ["a", "a"], False),
    ("tags-empty-string", ("tags",), [""], False),
    ("tags-number", ("tags",), [1], False),
    ("key-1", ("key",), "a", True),
    ("key-63", ("key",), "a" * 63, True),
    ("key-64", ("key",), "a" * 64, False),
    ("key-leading-dash", ("key",), "-a", False),
    ("key-upper", ("key",), "A", False),
    ("key-mixed", ("key",), "a_b-c9", True),
    ("key-empty", ("key",), "", False),
    ("metadata-empty", ("metadata",), {}, True),
    ("metadata-any", ("metadata",), {"a": [1, {"b": None}]}, True),
    ("metadata-seqctl", ("metadata",), {"seqctl": {}}, False),
    ("metadata-list", ("metadata",), [], False),
    ("step-metadata-seqctl", ("steps", 0, "metadata"), {"seqctl": 1}, True),
    ("is-active-false", ("is_active",), False, True),
    ("is-active-yes", ("is_active",), "yes", False),
    ("unknown-template-key", ("delay_value",), 1, False),
    ("unknown-step-key", ("steps", 0, "dleay_value"), 1, False),
    ("task-template-empty", ("steps", 0, "task_template"), "", False),
    ("task-template-nul", ("steps", 0, "task_template"), "a\x00", False),
    ("message-template", ("steps", 0, "message_template"), "Welcome email", True),
    ("custom-message-empty", ("steps", 0, "custom_message"), "", True),
    ("custom-message-nul", ("steps", 0, "custom_message"), "\x00", False),
    ("custom-message-newline", ("steps", 0, "custom_message"), "a\nb\n", True),
]


def patched(where: tuple[Any, ...], value: Any) -> dict[str, Any]:
    document = copy.deepcopy(BASE)
    target: Any = document
    for part in where[:-1]:
        target = target[part]
    target[where[-1]] = value
    return document


@pytest.mark.parametrize(
    ("where", "value", "valid"), [case[1:] for case in BOUNDARIES], ids=[c[0] for c in BOUNDARIES]
)
def test_boundaries(where: tuple[Any, ...], value: Any, valid: bool) -> None:
    document = patched(where, value)
    assert schema_validator().is_valid(document) is valid, "jsonschema"
    assert (schema_checker()(document) == []) is valid, "compiled checker"


def test_missing_required_keys() -> None:
    for document in (
        {"steps": BASE["steps"]},
        {"name": "Abc"},
        patched(("steps", 0), {"name": "Abc"}),
    ):
        assert not schema_validator().is_valid(document)
        assert schema_checker()(document)


def test_schema_is_a_valid_2020_12_schema_with_help_text() -> None:
    from jsonschema import Draft202012Validator

    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] and schema["title"] and schema["description"]
    step = schema["$defs"]["step"]
    for properties in (schema["properties"], step["properties"]):
        for name, prop in properties.items():
            assert prop.get("title") and prop.get("description"), name
    assert schema["additionalProperties"] is False and step["additionalProperties"] is False


def test_load_schema_returns_a_copy() -> None:
    load_schema()["title"] = "changed"
    assert load_schema()["title"] != "changed"
    assert schema_text().startswith("{")


def test_validator_and_checker_are_built_once() -> None:
    assert schema_validator() is schema_validator()
    assert schema_checker() is schema_checker()
    assert schema_checker() is not _jsonschema_checker, "the shipped schema compiles"


def test_unsupported_keywords_are_refused() -> None:
    schema: Any
    for schema in (
        {"oneOf": []},
        {"type": ["string", "null"]},
        {"enum": [1]},
        {"$ref": "#/x"},
        {"not": {"type": "string"}},
        {"type": "whatever"},
        [],
    ):
        with pytest.raises(UnsupportedSchema):
            compile_schema(schema)


def test_jsonschema_fallback_reports_paths() -> None:
    errors = _jsonschema_checker(patched(("steps", 0, "delay_value"), -1))
    assert [(e.path, e.keyword) for e in errors] == [("$.steps[0].delay_value", "minimum")]


def test_messages() -> None:
    errors = schema_checker()(
        {"name": "ab", "tags": ["x", "x"], "steps": [{"name": "Abc", "type": "Email", "dleay": 1}]}
    )
    by_path = {e.path: e for e in errors}
    assert by_path["$.name"].message == "too short: 2 characters, at least 3 required"
    assert by_path["$.tags[1]"].message == '"x" is a repeat of item 0'
    assert by_path["$.steps[0].type"].hint == "did you mean `email`?"
    assert by_path["$.steps[0].dleay"].at_key
    assert (
        did_you_mean("dleay_value", ["delay_value", "delay_unit"]) == "did you mean `delay_value`?"
    )
    assert did_you_mean("zzz", ["delay_value"]) is None


# -- the compiled checker and jsonschema agree on random documents ------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=2**31 + 2),
    st.sampled_from([0, 1.0, 2.5, INT_MAX, INT_MAX + 1, -1]),
    st.text(max_size=5),
    st.sampled_from(["call", "email", "days", "low", "a", "abc", "\x00ab", "é" * 100]),
    st.text(min_size=99, max_size=102),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
STEP_KEYS = [
    "name",
    "type",
    "priority",
    "description",
    "delay_value",
    "delay_unit",
    "task_template",
    "message_template",
    "custom_message",
    "metadata",
    "extra",
]
TEMPLATE_KEYS = ["key", "name", "description", "tags", "is_active", "metadata", "steps", "extra"]


def values_for(key: str) -> st.SearchStrategy[Any]:
    choices = {
        "type": st.sampled_from(["call", "text", "Call", "sms", ""]),
        "priority": st.sampled_from(["low", "high", "urgent"]),
        "delay_unit": st.sampled_from(["minutes", "days", "weeks"]),
        "key": st.sampled_from(["a", "a" * 63, "a" * 64, "A", "-x", "ok-key", "x\n"]),
        "tags": st.lists(st.sampled_from(["a", "b", "", 1]), max_size=3),
        "metadata": st.one_of(st.just({}), st.just({"seqctl": 1}), JSON),
    }
    return st.one_of(choices.get(key, JSON), JSON) if key in choices else JSON


@st.composite
def documents(draw: st.DrawFn) -> Any:
    step_lists = st.lists(
        st.fixed_dictionaries({}, optional={k: values_for(k) for k in STEP_KEYS}), max_size=3
    )
    optional = {k: values_for(k) for k in TEMPLATE_KEYS if k != "steps"}
    optional["steps"] = st.one_of(step_lists, JSON)
    return draw(st.one_of(st.fixed_dictionaries({}, optional=optional), JSON))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_compiled_checker_agrees_with_jsonschema(document: Any) -> None:
    assert (schema_checker()(document) == []) == schema_validator().is_valid(document)

"""jsonschema-rs (what ``seqctl validate`` runs) against jsonschema (the oracle) on RANDOM
small schemas built from the keywords the template schema uses, and random documents: both
agree on valid / invalid and on the set of failing instance paths. Plus the regression of
the home-made compiler's `not: {required: [a, b]}` and the fallback where the wheel is gone.

The oracle is jsonschema with one correction: a pattern's ``$`` means the end of the text,
as in ECMA-262 (which JSON Schema specifies); Python's ``re`` also lets it match before a
final line break, jsonschema-rs (correctly) does not.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqctl.templates.schema import checker_for, load_schema, schema_checker
from seqctl.templates.validate import validate_bytes

PATTERNS = ["^a", "b$", "^[a-z]+$", "^[^\\u0000]*$", "^[a-z0-9][a-z0-9_-]{0,3}$", "x"]
NAMES = ["a", "b", "c", "odd key"]


def _ecma(pattern: str) -> str:
    return re.sub(r"(?<!\\)\$$", r"\\Z", pattern)


def oracle(schema: dict[str, Any]) -> Any:
    from jsonschema import Draft202012Validator, ValidationError, validators

    def pattern(validator: Any, value: str, instance: Any, schema: Any) -> Any:
        if validator.is_type(instance, "string") and not re.search(_ecma(value), instance):
            yield ValidationError(f"{instance!r} does not match {value!r}")

    ecma = validators.extend(Draft202012Validator, {"pattern": pattern})
    return ecma(schema)


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=5),
    st.sampled_from([0.0, 1.0, 2.5]),
    st.sampled_from(["", "a", "ab", "b", "x\n", "abc", "a-1", "é", "\x00", "AB", "odd key"]),
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(NAMES), inner, max_size=3)
    ),
    max_leaves=8,
)


def schemas(refs: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Small schemas over the template schema's keywords (``$ref`` to ``#/$defs/d``)."""
    leaf: dict[str, st.SearchStrategy[Any]] = {
        "type": st.one_of(
            st.sampled_from(["string", "integer", "number", "boolean", "object", "array", "null"]),
            st.lists(
                st.sampled_from(["string", "integer", "null"]), min_size=1, max_size=2, unique=True
            ),
        ),
        "enum": st.lists(SCALARS, min_size=1, max_size=3),
        "const": SCALARS,
        "minLength": st.integers(0, 3),
        "maxLength": st.integers(0, 3),
        "minimum": st.integers(-1, 3),
        "maximum": st.sampled_from([0, 2, 2.5]),
        "minItems": st.integers(0, 2),
        "maxItems": st.integers(0, 2),
        "uniqueItems": st.booleans(),
        "pattern": st.sampled_from(PATTERNS),
        "required": st.lists(st.sampled_from(NAMES), max_size=2, unique=True),
        "additionalProperties": st.booleans(),
    }
    if refs:
        leaf["$ref"] = st.just("#/$defs/d")
    base = st.fixed_dictionaries({}, optional=leaf)

    def extend(inner: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
        nested: dict[str, st.SearchStrategy[Any]] = {
            "properties": st.dictionaries(st.sampled_from(NAMES), inner, max_size=2),
            "items": inner,
            "not": st.one_of(
                inner,
                st.builds(
                    lambda r: {"required": r},
                    st.lists(st.sampled_from(NAMES), min_size=1, max_size=2, unique=True),
                ),
            ),
            "anyOf": st.lists(inner, min_size=1, max_size=2),
            "oneOf": st.lists(inner, min_size=1, max_size=2),
            "allOf": st.lists(inner, min_size=1, max_size=2),
            "additionalProperties": st.one_of(st.booleans(), inner),
        }
        return st.builds(lambda a, b: {**a, **b}, base, st.fixed_dictionaries({}, optional=nested))

    return st.recursive(base, extend, max_leaves=4)


@st.composite
def schema_and_documents(draw: st.DrawFn) -> tuple[dict[str, Any], list[Any]]:
    schema = draw(schemas(refs=True))
    schema["$defs"] = {"d": draw(schemas(refs=False))}
    return schema, draw(st.lists(DOCUMENTS, min_size=1, max_size=6))


def failing_paths(errors: Any) -> set[tuple[Any, ...]]:
    return {tuple(error.absolute_path) for error in errors}


def rs_failing_paths(validator: Any, document: Any) -> set[tuple[Any, ...]]:
    return {tuple(error.instance_path) for error in validator.iter_errors(document)}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema_and_documents())
def test_jsonschema_rs_agrees_with_jsonschema_on_random_schemas(
    case: tuple[dict[str, Any], list[Any]],
) -> None:
    import jsonschema_rs

    schema, documents = case
    reference = oracle(schema)
    fast = jsonschema_rs.Draft202012Validator(schema)
    ours = checker_for(schema, reference=lambda: reference)
    explained_by_oracle = checker_for(schema, reference=lambda: reference, engine="jsonschema")
    for document in documents:
        valid = reference.is_valid(document)
        assert fast.is_valid(document) is valid, (schema, document)
        assert (ours(document) == []) is valid, (schema, document)
        # the library's failing instance paths, and those of seqctl's explained errors
        assert rs_failing_paths(fast, document) == failing_paths(reference.iter_errors(document)), (
            schema,
            document,
        )
        assert {e.path for e in ours(document)} == {
            e.path for e in explained_by_oracle(document)
        }, (schema, document)


def test_not_required_of_two_keys_rejects_only_both() -> None:
    """Regression: the home-made compiler read `not: {required: [a, b]}` as "neither a nor
    b", rejecting {"a": 1}; the specification rejects only an object with both."""
    schema = {"type": "object", "not": {"required": ["a", "b"]}}
    check = checker_for(schema)
    assert check({"a": 1}) == []
    assert check({"b": 1}) == []
    assert check({}) == []
    errors = check({"a": 1, "b": 2})
    assert [(e.path, e.keyword) for e in errors] == [("$", "not")]
    assert errors[0].message == "the keys `a`, `b` cannot all be given together"
    assert oracle(schema).is_valid({"a": 1})


def test_reserved_key_points_at_the_key() -> None:
    errors = schema_checker()(
        {"name": "Abc", "metadata": {"seqctl": 1}, "steps": [{"name": "Abc", "type": "call"}]}
    )
    assert [(e.path, e.message, e.at_key) for e in errors] == [
        ("$.metadata.seqctl", "the key `seqctl` is reserved", True)
    ]


def test_without_the_wheel_jsonschema_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jsonschema_rs", None)  # import raises ImportError
    check = checker_for(load_schema())
    errors = check({"name": "ab", "stesp": [], "steps": [{"name": "Abc", "type": "Email"}]})
    assert {(e.path, e.keyword, e.hint) for e in errors} == {
        ("$.name", "minLength", "write at least 3 characters"),
        ("$.stesp", "additionalProperties", "did you mean `steps`?"),
        ("$.steps[0].type", "enum", "did you mean `email`?"),
    }
    assert check({"name": "Abc", "steps": [{"name": "Abc", "type": "call"}]}) == []


def test_a_value_the_wheel_cannot_take_is_checked_by_jsonschema() -> None:
    import datetime

    document = {"name": "Abc", "steps": [{"name": "Abc", "type": "call"}], "metadata": {}}
    document["metadata"] = {"when": datetime.date(2026, 1, 1)}  # not JSON: jsonschema_rs refuses
    assert schema_checker()(document) == []
    document["name"] = datetime.date(2026, 1, 1)
    assert [e.keyword for e in schema_checker()(document)] == ["type"]


def test_yaml_no_trap_and_did_you_mean_survive_the_engine_change() -> None:
    text = b"name: no\nsteps:\n  - name: Call\n    type: Email\n    dleay_value: 1\n"
    found = {
        (p.line, p.column, p.json_path, p.message, p.hint)
        for p in validate_bytes(text, "a.yaml").problems
    }
    assert found == {
        (
            1,
            7,
            "$.name",
            "expected a string, got boolean false: YAML reads the unquoted `no` as a boolean",
            'quote the value: "no"',
        ),
        (
            4,
            11,
            "$.steps[0].type",
            '"Email" is not one of: internal_activity, social_message, text, email, call, '
            "demo_meeting",
            "did you mean `email`?",
        ),
        (
            5,
            5,
            "$.steps[0].dleay_value",
            "unknown key `dleay_value`",
            "did you mean `delay_value`?",
        ),
    }

"""The JSON Schema of template files (``schemas/sequence-template.schema.json``).

:func:`load_schema` gives the schema as a dict and :func:`schema_validator` a cached
``jsonschema`` validator for it: the reference implementation, for tests and tools.
:func:`schema_checker` gives what ``seqctl validate`` runs: the same schema validated by
``jsonschema-rs`` (``jsonschema_rs``, compiled Rust, many times faster), its errors turned
into :class:`SchemaError` values whose messages say what is wrong and how to fix it.
Where the ``jsonschema-rs`` wheel cannot be imported, or a document holds a value it cannot
take (not JSON data), ``jsonschema`` checks instead; both engines' errors go through the
same explanation (:func:`_explain`), from the keyword that failed, the schema object that
holds it and the instance path. Both are imported only when needed.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..resources import schema_path
from ..suggest import close_matches
from .problems import index_path, member_path

SCHEMA_FILE = "sequence-template.schema.json"


@dataclass(frozen=True)
class SchemaError:
    """One schema violation at ``path``. ``at_key``: the key itself is wrong (unknown or
    reserved), so point at the key rather than at its value."""

    path: str
    keyword: str
    message: str
    hint: str | None = None
    at_key: bool = False
    expected_type: str | None = None


Checker = Callable[[Any], list[SchemaError]]

# one failed keyword: (instance path, keyword, the schema object holding the keyword)
_Failure = tuple[tuple[str | int, ...], str, dict[str, Any]]


@functools.cache
def schema_text() -> str:
    """The schema file's text, as shipped."""
    return schema_path(SCHEMA_FILE).read_text(encoding="utf-8")


@functools.cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


def load_schema() -> dict[str, Any]:
    """The schema as a dict (a fresh copy: change it freely)."""
    return copy.deepcopy(_schema())


@functools.cache
def schema_validator() -> Any:
    """A ``jsonschema.Draft202012Validator`` for the schema, built once (the schema is
    checked against the 2020-12 meta-schema first)."""
    from jsonschema import Draft202012Validator

    schema = _schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@functools.cache
def schema_checker() -> Checker:
    """``check(data) -> [SchemaError, …]`` for one template document, built once."""
    return checker_for(_schema(), reference=schema_validator)


def _jsonschema_checker(data: Any) -> list[SchemaError]:
    """The fallback for the shipped schema: jsonschema's errors, explained."""
    return _explain_all(_schema(), data, _jsonschema_failures(schema_validator(), data))


def checker_for(
    schema: dict[str, Any], *, reference: Callable[[], Any] | None = None, engine: str = "rs"
) -> Checker:
    """``check(document) -> [SchemaError, …]`` (empty when valid) for a 2020-12 ``schema``.

    ``engine="rs"`` uses ``jsonschema_rs`` when it can be imported, else (and for a
    document it cannot convert) ``jsonschema``; ``engine="jsonschema"`` uses jsonschema
    only. ``reference``: a function giving the jsonschema validator (built when needed)."""

    @functools.cache
    def slow() -> Any:
        if reference is not None:
            return reference()
        from jsonschema import Draft202012Validator

        return Draft202012Validator(schema)

    def check_slow(data: Any) -> list[SchemaError]:
        return _explain_all(schema, data, _jsonschema_failures(slow(), data))

    rs = _jsonschema_rs() if engine == "rs" else None
    if rs is None:
        return check_slow
    validator = rs.Draft202012Validator(schema)
    is_valid = validator.is_valid

    def check(data: Any) -> list[SchemaError]:
        try:
            if is_valid(data):
                return []
            failures = [
                _rs_failure(schema, error.instance_path, error.schema_path, error.kind.name)
                for error in validator.iter_errors(data)
            ]
        except ValueError:  # a value jsonschema_rs cannot take (not JSON data)
            return check_slow(data)
        return _explain_all(schema, data, failures)

    return check


def _jsonschema_rs() -> Any:
    """The ``jsonschema_rs`` module, or ``None`` where its wheel is unavailable."""
    try:
        import jsonschema_rs
    except ImportError:
        return None
    return jsonschema_rs


def _rs_failure(
    schema: dict[str, Any], instance: Sequence[str | int], where: Sequence[str | int], kind: str
) -> _Failure:
    # jsonschema_rs gives the keyword's location in the schema document, $refs resolved
    # (e.g. $defs/text/pattern): the object holding the keyword is the one above it
    # (`additionalProperties: false` beside no `properties` comes as a false schema)
    if where and (
        where[-1] == kind or (kind == "falseSchema" and where[-1] in _FALSE_SCHEMA_KEYWORDS)
    ):
        return tuple(instance), str(where[-1]), _node_at(schema, where[:-1])
    return tuple(instance), kind, _node_at(schema, where)


_FALSE_SCHEMA_KEYWORDS = frozenset({"additionalProperties", "items"})


def _jsonschema_failures(validator: Any, data: Any) -> list[_Failure]:
    return [
        (
            tuple(error.absolute_path),
            "falseSchema" if error.validator is None else str(error.validator),
            error.schema if isinstance(error.schema, dict) else {},
        )
        for error in validator.iter_errors(data)
    ]


def _node_at(schema: Any, parts: Iterable[str | int]) -> dict[str, Any]:
    node = schema
    for part in parts:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return {}
    return node if isinstance(node, dict) else {}


def _value_at(data: Any, parts: Iterable[str | int]) -> Any:
    value = data
    for part in parts:
        value = value[part]
    return value


def _path(parts: Iterable[str | int]) -> str:
    path = "$"
    for part in parts:
        path = index_path(path, part) if isinstance(part, int) else member_path(path, part)
    return path


def _explain_all(schema: dict[str, Any], data: Any, failures: list[_Failure]) -> list[SchemaError]:
    """The failures as :class:`SchemaError` values, each once. A value of the wrong type
    gets only its type error (its length or range says nothing then)."""
    errors: list[SchemaError] = []
    seen: set[tuple[Any, ...]] = set()
    defs = schema.get("$defs", {}) if isinstance(schema, dict) else {}
    for parts, keyword, node in failures:
        key = (parts, keyword, id(node))
        if key in seen:
            continue
        seen.add(key)
        errors.extend(_explain(keyword, node, parts, _value_at(data, parts), defs))
    mistyped = {error.path for error in errors if error.keyword == "type"}
    unique: dict[SchemaError, None] = {}
    for error in errors:
        if error.keyword == "type" or error.path not in mistyped:
            unique.setdefault(error)
    return list(unique)


_EXPECTED = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping (key: value lines)",
    "array": "a list",
    "null": "null",
}


def _explain(
    keyword: str, node: dict[str, Any], parts: tuple[str | int, ...], value: Any, defs: Any
) -> list[SchemaError]:
    """What failed, where, and how to fix it, for one failed ``keyword`` of ``node``."""
    path = _path(parts)
    if keyword == "type":
        types = node.get("type")
        names = [types] if isinstance(types, str) else list(types or [])
        expected = " or ".join(_EXPECTED.get(name, str(name)) for name in names)
        single = names[0] if len(names) == 1 else None
        message = f"expected {expected}, got {describe(value)}"
        return [SchemaError(path, "type", message, expected_type=single)]
    if keyword == "enum":
        options: list[Any] = list(node.get("enum", []))
        texts = all(type(option) is str for option in options)
        listed = ", ".join(options if texts else [show(option) for option in options])
        if type(value) is str and texts:
            message = f"{show(value)} is not one of: {listed}"
            return [SchemaError(path, "enum", message, did_you_mean(value, options))]
        return [SchemaError(path, "enum", f"expected one of: {listed}; got {describe(value)}")]
    if keyword == "const":
        message = f"expected {show(node.get('const'))}, got {describe(value)}"
        return [SchemaError(path, "const", message)]
    if keyword in ("minLength", "maxLength", "pattern"):
        return [_string_error(keyword, node, path, value)]
    if keyword in ("minimum", "maximum"):
        return [_number_error(keyword, node, path, value)]
    if keyword == "minItems":
        message = f"{_count(len(value), 'item')}, at least {node['minItems']} required"
        return [SchemaError(path, "minItems", message, "add items")]
    if keyword == "maxItems":
        message = f"{_count(len(value), 'item')}, at most {node['maxItems']} allowed"
        return [SchemaError(path, "maxItems", message, "split it")]
    if keyword == "uniqueItems":
        return _repeats(path, value)
    if keyword == "required":
        properties = node.get("properties", {})
        return [
            SchemaError(
                path,
                "required",
                f"missing required key `{name}`",
                _required_hint(name, properties.get(name, {}), defs),
            )
            for name in node.get("required", [])
            if name not in value
        ]
    if keyword == "additionalProperties":
        names = list(node.get("properties", {}))
        return [
            SchemaError(
                member_path(path, name),
                "additionalProperties",
                f"unknown key `{name}`",
                did_you_mean(name, names) or "allowed keys: " + ", ".join(names),
                at_key=True,
            )
            for name in value
            if name not in names
        ]
    if keyword == "not":
        return [_not_error(node.get("not"), path, value)]
    if keyword == "anyOf":
        return [SchemaError(path, "anyOf", "matches none of the allowed forms (anyOf)")]
    if keyword == "oneOf":
        return [SchemaError(path, "oneOf", "must match exactly one of the allowed forms (oneOf)")]
    if keyword == "falseSchema":  # e.g. `properties: {x: false}`
        return [SchemaError(path, keyword, "not allowed here", "remove it")]
    return [SchemaError(path, keyword, f"not allowed here ({keyword})")]


def _string_error(keyword: str, node: dict[str, Any], path: str, value: str) -> SchemaError:
    length = len(value)
    if keyword == "minLength":
        low = node["minLength"]
        message = (
            "must not be empty"
            if length == 0 and low == 1
            else f"too short: {_count(length, 'character')}, at least {low} required"
        )
        hint = "write some text, or remove it" if low == 1 else f"write at least {low} characters"
        return SchemaError(path, "minLength", message, hint)
    if keyword == "maxLength":
        high = node["maxLength"]
        message = f"too long: {_count(length, 'character')}, at most {high} allowed"
        return SchemaError(path, "maxLength", message, "shorten it")
    message = node.get("patternErrorMessage") or f"{show(value)} does not match {node['pattern']}"
    return SchemaError(path, "pattern", message)


def _number_error(keyword: str, node: dict[str, Any], path: str, value: Any) -> SchemaError:
    low = node.get("minimum")
    high = node.get("maximum")
    if low is not None and high is not None:
        allowed = f"write a value from {low} to {high}"
    else:
        allowed = f"write a value of at least {low}" if low is not None else f"write at most {high}"
    if keyword == "minimum":
        return SchemaError(path, keyword, f"{value!r} is less than the minimum {low}", allowed)
    return SchemaError(path, keyword, f"{value!r} is more than the maximum {high}", allowed)


def _repeats(path: str, value: list[Any]) -> list[SchemaError]:
    errors = []
    seen: dict[Any, int] = {}
    for index, item in enumerate(value):
        key = _unique_key(item)
        if key in seen:
            message = f"{show(item)} is a repeat of item {seen[key]}"
            errors.append(
                SchemaError(index_path(path, index), "uniqueItems", message, "remove the repeat")
            )
        else:
            seen[key] = index
    return errors


def _not_error(schema: Any, path: str, value: Any) -> SchemaError:
    """``not: {required: [k]}`` reserves the key k; ``not: {required: [a, b]}`` forbids
    only their being together (either alone is fine)."""
    if isinstance(schema, dict) and set(schema) == {"required"} and isinstance(value, dict):
        names = list(schema["required"])
        if len(names) == 1:
            return SchemaError(
                member_path(path, names[0]),
                "not",
                f"the key `{names[0]}` is reserved",
                "use another key name",
                at_key=True,
            )
        together = ", ".join(f"`{name}`" for name in names)
        return SchemaError(
            path, "not", f"the keys {together} cannot all be given together", "remove one of them"
        )
    return SchemaError(path, "not", f"must not match {show(schema)}")


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _required_hint(name: str, schema: Any, defs: Any) -> str:
    target = schema if isinstance(schema, dict) else {}
    ref = target.get("$ref", "")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and isinstance(defs, dict):
        found = defs.get(ref.removeprefix("#/$defs/"))
        if isinstance(found, dict):
            target = {**found, **target}
    if isinstance(target.get("enum"), list):
        return f"add `{name}:` with one of: " + ", ".join(map(str, target["enum"]))
    description = str(target.get("description", "")).split(". ")[0].rstrip(".")
    return f"add `{name}:`" + (f" ({description})" if description else "")


def _unique_key(value: Any) -> Any:
    """A hashable key under which JSON-equal values (1 and 1.0, not 1 and true) coincide."""
    if type(value) is bool or value is None:
        return ("const", value)
    if type(value) is list:
        return ("list", tuple(_unique_key(item) for item in value))
    if type(value) is dict:
        return ("dict", frozenset((k, _unique_key(v)) for k, v in value.items()))
    return ("value", value)


# -- describing values in messages -----------------------------------------------------------


def show(value: Any, limit: int = 60) -> str:
    """A value as JSON on one line, shortened to about ``limit`` characters."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(value: Any) -> str:
    """``boolean false``, ``the number 1.5``, ``the text "ab"``, ``a list`` …"""
    if value is None:
        return "null (an empty value)"
    if type(value) is bool:
        return f"boolean {'true' if value else 'false'}"
    if type(value) is int or type(value) is float:
        return f"the number {value!r}"
    if type(value) is str:
        return f"the text {show(value)}"
    if type(value) is list:
        return "a list"
    if type(value) is dict:
        return "a mapping"
    return type(value).__name__


def did_you_mean(word: str, options: Sequence[str]) -> str | None:
    """``did you mean `delay_value`?`` when one of ``options`` is close to ``word``."""
    texts = [option for option in options if isinstance(option, str)]
    close = close_matches(word, texts, most=1, key=str.lower)
    return f"did you mean `{close[0]}`?" if close else None

"""A small compiler from JSON Schema (the 2020-12 keywords the template schema uses) to Python.

``jsonschema`` interprets a schema on every call; for thousands of files that is most of
the run time. :func:`compile_schema` turns the schema into nested closures once, and they
report :class:`SchemaError` values whose messages say what is wrong and how to fix it.
The template schema stays the single source of truth: a keyword this compiler does not
know raises :class:`UnsupportedSchema` (``seqctl.templates.schema`` then falls back to jsonschema),
and a property-based test checks that both agree on which documents are valid.

Supported: ``$ref`` (to ``#/$defs/…``), ``type``, ``enum`` (of strings), ``minLength``,
``maxLength``, ``pattern``, ``minimum``, ``maximum``, ``minItems``, ``maxItems``,
``uniqueItems``, ``items``, ``properties``, ``required``, ``additionalProperties``, and
``not`` of a ``required`` (a reserved key); plus annotations (``title``, ``description``,
``default``, ``examples``, ``patternErrorMessage`` …), which do not affect validity.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .problems import index_path, member_path


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


class UnsupportedSchema(Exception):
    """The schema uses a keyword or form this compiler does not implement."""


Check = Callable[[Any, str, list[SchemaError]], None]

_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "$defs",
        "title",
        "description",
        "markdownDescription",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "patternErrorMessage",
    }
)
_PURE_ANNOTATIONS = _ANNOTATIONS - {"patternErrorMessage", "$defs"}
_KEYWORDS = frozenset(
    {
        "$ref",
        "type",
        "enum",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "minItems",
        "maxItems",
        "uniqueItems",
        "items",
        "properties",
        "required",
        "additionalProperties",
        "not",
    }
)

_EXPECTED = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping (key: value lines)",
    "array": "a list",
    "null": "null",
}


def _is_type(name: str) -> Callable[[Any], bool]:
    tests: dict[str, Callable[[Any], bool]] = {
        "string": lambda v: type(v) is str,
        "integer": lambda v: type(v) is int or (type(v) is float and v.is_integer()),
        "number": lambda v: type(v) is int or type(v) is float,
        "boolean": lambda v: type(v) is bool,
        "object": lambda v: type(v) is dict,
        "array": lambda v: type(v) is list,
        "null": lambda v: v is None,
    }
    if name not in tests:
        raise UnsupportedSchema(f"unknown type {name!r}")
    return tests[name]


def compile_schema(schema: dict[str, Any]) -> Callable[[Any], list[SchemaError]]:
    """``check(document) -> [SchemaError, …]`` (empty when the document is valid)."""
    check = _Compiler(schema).compile(schema)

    def run(document: Any) -> list[SchemaError]:
        errors: list[SchemaError] = []
        check(document, "$", errors)
        return errors

    return run


class _Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.defs: dict[str, Any] = root.get("$defs", {}) if isinstance(root, dict) else {}
        self.compiled: dict[str, Check] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return _accept
        if not isinstance(schema, dict):
            raise UnsupportedSchema(f"schema {schema!r}")
        unknown = schema.keys() - _KEYWORDS - _ANNOTATIONS
        if unknown:
            raise UnsupportedSchema("keywords " + ", ".join(sorted(unknown)))
        schema = self.inline_ref(schema)
        first: list[Check] = [self.ref(schema["$ref"])] if "$ref" in schema else []
        rest = [
            check
            for check in (
                self.strings(schema),
                self.numbers(schema),
                self.arrays(schema),
                self.objects(schema),
                self.enum(schema),
            )
            if check is not None
        ]
        type_ok, expected = self.type(schema)
        if type_ok is None and len(first) + len(rest) == 1:
            return (first or rest)[0]  # e.g. {"title": …, "$ref": …}: no wrapper needed
        if type_ok is not None and not first and len(rest) <= 1:
            return _typed(type_ok, expected, rest[0] if rest else None)

        def check(value: Any, path: str, out: list[SchemaError]) -> None:
            for ref in first:
                ref(value, path, out)
            if type_ok is not None and not type_ok(value):
                message = f"expected {_EXPECTED[expected]}, got {describe(value)}"
                out.append(SchemaError(path, "type", message, expected_type=expected))
                return
            for part in rest:
                part(value, path, out)

        return check

    def inline_ref(self, schema: dict[str, Any]) -> dict[str, Any]:
        """``{"$ref": X, siblings…}`` as X's keywords plus the siblings, when no keyword
        appears in both (all keywords apply anyway, so this changes nothing but speed)."""
        for _ in range(8):  # a chain of $refs; a cycle stays a $ref
            if "$ref" not in schema:
                break
            target = self.defs.get(schema["$ref"].removeprefix("#/$defs/"))
            if not schema["$ref"].startswith("#/$defs/") or not isinstance(target, dict):
                break
            siblings = {key: value for key, value in schema.items() if key != "$ref"}
            if (target.keys() & siblings.keys()) - _PURE_ANNOTATIONS:
                break
            schema = {**target, **siblings}
        return schema

    def ref(self, ref: str) -> Check:
        name = ref.removeprefix("#/$defs/")
        if name == ref or name not in self.defs:
            raise UnsupportedSchema(f"$ref {ref!r}")
        if name not in self.compiled:
            cell: list[Check] = []
            self.compiled[name] = lambda v, p, o: cell[0](v, p, o)  # recursion, if any
            cell.append(self.compile(self.defs[name]))
            self.compiled[name] = cell[0]
        return self.compiled[name]

    def type(self, schema: dict[str, Any]) -> tuple[Callable[[Any], bool] | None, str]:
        if "type" not in schema:
            return None, ""
        if not isinstance(schema["type"], str):
            raise UnsupportedSchema("type lists")
        return _is_type(schema["type"]), schema["type"]

    def enum(self, schema: dict[str, Any]) -> Check | None:
        if "enum" not in schema:
            return None
        options: list[Any] = schema["enum"]
        if not all(type(option) is str for option in options):
            raise UnsupportedSchema("enum of non-strings")
        allowed = frozenset(options)
        listed = ", ".join(options)

        def check(value: Any, path: str, out: list[SchemaError]) -> None:
            if type(value) is str and value in allowed:
                return
            if type(value) is str:
                message = f"{show(value)} is not one of: {listed}"
                hint = did_you_mean(value, options)
            else:
                message = f"expected one of: {listed}; got {describe(value)}"
                hint = None
            out.append(SchemaError(path, "enum", message, hint))

        return check

    def strings(self, schema: dict[str, Any]) -> Check | None:
        low = schema.get("minLength")
        high = schema.get("maxLength")
        pattern = schema.get("pattern")
        if low is None and high is None and pattern is None:
            return None
        regex = _FAST_PATTERNS.get(pattern) or (re.compile(pattern).search if pattern else None)
        pattern_message = schema.get("patternErrorMessage")

        def check(value: Any, path: str, out: list[SchemaError]) -> None:
            if type(value) is not str:
                return
            length = len(value)
            if low is not None and length < low:
                message = (
                    "must not be empty"
                    if length == 0 and low == 1
                    else f"too short: {_count(length, 'character')}, at least {low} required"
                )
                out.append(SchemaError(path, "minLength", message, _length_hint(low)))
            if high is not None and length > high:
                message = f"too long: {_count(length, 'character')}, at most {high} allowed"
                out.append(SchemaError(path, "maxLength", message, "shorten it"))
            if regex is not None and not regex(value):
                message = pattern_message or f"{show(value)} does not match {pattern}"
                out.append(SchemaError(path, "pattern", message))

        return check

    def numbers(self, schema: dict[str, Any]) -> Check | None:
        low = schema.get("minimum")
        high = schema.get("maximum")
        if low is None and high is None:
            return None
        if low is not None and high is not None:
            allowed = f"write a value from {low} to {high}"
        else:
            allowed = (
                f"write a value of at least {low}" if low is not None else f"write at most {high}"
            )

        def check(value: Any, path: str, out: list[SchemaError]) -> None:
            if type(value) is not int and type(value) is not float:
                return
            if low is not None and value < low:
                message = f"{value!r} is less than the minimum {low}"
                out.append(SchemaError(path, "minimum", message, allowed))
            if high is not None and value > high:
                message = f"{value!r} is more than the maximum {high}"
                out.append(SchemaError(path, "maximum", message, allowed))

        return check

    def arrays(self, schema: dict[str, Any]) -> Check | None:
        low = schema.get("minItems")
        high = schema.get("maxItems")
        unique = schema.get("uniqueItems", False)
        items = self.compile(schema["items"]) if "items" in schema else None
        if low is None and high is None and not unique and items is None:
            return None

        def check(value: Any, path: str, out: list[SchemaError]) -> None:
            if type(value) is not list:
                return
            count = len(value)
            if low is not None and count < low:
                message = f"{_count(count, 'item')}, at least {low} required"
                out.append(SchemaError(path, "minItems", message, "add items"))
            if high is not None and count > high:
                message = f"{_count(count, 'item')}, at most {high} allowed"
                out.append(SchemaError(path, "maxItems", message, "split it"))
            if unique:
                seen: dict[Any, int] = {}
                for index, item in enumerate(value):
                    key = _unique_key(item)
                    if key in seen:
                        message = f"{show(item)} is a repeat of item {seen[key]}"
                        out.append(
                            SchemaError(
                                index_path(path, index), "uniqueItems", message, "remove the repeat"
                            )
                        )
                    else:
                        seen[key] = index
            if items is not None:
                for index, item in enumerate(value):
                    items(item, f"{path}[{index}]", out)

        return check

    def objects(self, schema: dict[str, Any]) -> Check | None:
        properties: dict[str, Any] = schema.get("properties", {})
        required: list[str] = schema.get("required", [])
        additional = schema.get("additionalProperties", True)
        reserved = self.reserved(schema.get("not"))
        if not properties and not required and additional is True and not reserved:
            return None
        checks = {name: self.compile(sub) for name, sub in properties.items()}
        other = None if additional is False else self.compile(additional)
        hints = {name: _required_hint(name, sub, self.defs) for name, sub in properties.items()}
        names = list(properties)

        def check(value: Any, path: str, out: list[SchemaError]) -> None:
            if type(value) is not dict:
                return
            for name in required:
                if name not in value:
                    message = f"missing required key `{name}`"
                    out.append(SchemaError(path, "required", message, hints.get(name)))
            for name in reserved:
                if name in value:
                    out.append(
                        SchemaError(
                            member_path(path, name),
                            "not",
                            f"the key `{name}` is reserved",
                            "use another key name",
                            at_key=True,
                        )
                    )
            for name, item in value.items():
                child = (
                    f"{path}.{name}"
                    if name.isidentifier() and name.isascii()
                    else member_path(path, name)
                )
                sub = checks.get(name)
                if sub is not None:
                    sub(item, child, out)
                elif other is not None:
                    other(item, child, out)
                else:
                    hint = did_you_mean(name, names) or "allowed keys: " + ", ".join(names)
                    out.append(
                        SchemaError(
                            child,
                            "additionalProperties",
                            f"unknown key `{name}`",
                            hint,
                            at_key=True,
                        )
                    )

        return check

    def reserved(self, schema: Any) -> list[str]:
        if schema is None:
            return []
        if not isinstance(schema, dict) or set(schema) != {"required"}:
            raise UnsupportedSchema("`not` other than of `required`")
        return list(schema["required"])


# patterns with an equivalent faster test (same result as re.search, as jsonschema uses)
_FAST_PATTERNS: dict[str | None, Callable[[str], bool]] = {
    "^[^\\u0000]*$": lambda text: "\x00" not in text,
}


def _accept(value: Any, path: str, out: list[SchemaError]) -> None:
    return None


def _typed(type_ok: Callable[[Any], bool], expected: str, part: Check | None) -> Check:
    """A type test followed by at most one other check: the common case, without a loop."""

    def check(value: Any, path: str, out: list[SchemaError]) -> None:
        if not type_ok(value):
            message = f"expected {_EXPECTED[expected]}, got {describe(value)}"
            out.append(SchemaError(path, "type", message, expected_type=expected))
        elif part is not None:
            part(value, path, out)

    return check


def _length_hint(low: int) -> str:
    return "write some text, or remove it" if low == 1 else f"write at least {low} characters"


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _required_hint(name: str, schema: dict[str, Any], defs: dict[str, Any]) -> str:
    target = schema
    ref = schema.get("$ref", "")
    if ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in defs:
        target = {**defs[ref.removeprefix("#/$defs/")], **schema}
    if "enum" in target:
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
    lowered = {option.lower(): option for option in options}
    if word.lower() in lowered:
        return f"did you mean `{lowered[word.lower()]}`?"
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f"did you mean `{lowered[close[0]]}`?" if close else None

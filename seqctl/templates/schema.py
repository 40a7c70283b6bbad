"""The JSON Schema of template files (``schemas/sequence-template.schema.json``).

:func:`load_schema` gives the schema as a dict and :func:`schema_validator` a cached
``jsonschema`` validator for it: the reference implementation, for tests and tools.
:func:`schema_checker` gives what ``seqctl validate`` runs: the same schema compiled to
plain Python (``seqctl.templates.schema_check``), several times faster and with messages that say
how to fix the problem; it falls back to ``jsonschema`` should the schema ever use a
keyword the compiler does not know. jsonschema is imported only when needed.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from typing import Any

from ..resources import schema_path
from .schema_check import SchemaError, UnsupportedSchema, compile_schema

SCHEMA_FILE = "sequence-template.schema.json"

Checker = Callable[[Any], list[SchemaError]]


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
    try:
        return compile_schema(_schema())
    except UnsupportedSchema:
        return _jsonschema_checker


def _jsonschema_checker(data: Any) -> list[SchemaError]:
    """The fallback: jsonschema's errors in the shape of the compiled checker's."""
    from .problems import index_path, member_path

    errors = []
    for error in schema_validator().iter_errors(data):
        path = "$"
        for part in error.absolute_path:
            path = index_path(path, part) if isinstance(part, int) else member_path(path, part)
        errors.append(SchemaError(path, str(error.validator), error.message))
    return errors

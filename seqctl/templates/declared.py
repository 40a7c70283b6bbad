"""Declared variables: organisation-specific values kept in the repository (§5).

The application hard-codes a few values of its own organisation (an ordering URL built
from the subdomain, an admin URL, example restaurants per city). seqctl does not: a team
declares them in ``variables.yaml`` next to its templates (the nearest one in the
template's directory or above it, up to the project root), checked offline against
``schemas/variables.schema.json``::

    variables:
      admin_url: https://admin.example.com          # a fixed text
      ordering_url:
        template: "https://{subdomain}.example.com"  # catalogue variables filled in;
                                                     # empty when one of them is empty
      example_restaurant_1:
        by: city                                     # a catalogue variable's value ...
        values: {Auckland: Eat Mi, Wellington: Chaat Street}   # ... looked up here
        default: Eat Mi                              # when nothing matches (else empty)

A lookup matches exactly first, then ignoring case. ``sync`` stores the declarations with
each managed template (``metadata.seqctl.variables``), ``plan`` shows their changes
field by field, and ``apply`` renders a template with the declarations stored on it.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..resources import schema_path
from .files import DECLARED_FILE
from .problems import ERROR, Problem, index_path, member_path
from .variables import KNOWN_VARIABLES, find_variables, is_known, suggest_variable

if TYPE_CHECKING:  # the YAML loader loads only to read a file (apply reads none)
    from .loader import LoadedFile

SCHEMA_FILE = "variables.schema.json"
ROOT_MARKERS = (".git", "seqctl.toml", ".seqctl")
SEQCTL_KEY = "seqctl"  # a template row's metadata.seqctl: key, source, digest, variables


@dataclass(frozen=True)
class Declared:
    """The declared variables of one file: name -> declaration, as written (JSON data)."""

    definitions: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.definitions)

    def values(self, catalogue: Mapping[str, str | None]) -> dict[str, str]:
        """Each declared variable's value for a restaurant whose catalogue values are given."""
        return {name: declared_value(d, catalogue) for name, d in self.definitions.items()}


def declared_value(definition: Any, catalogue: Mapping[str, str | None]) -> str:
    """The value of one declaration (a text, a ``template`` or a ``by`` lookup)."""
    from .rendering import compile_message

    if isinstance(definition, str):
        return definition
    if not isinstance(definition, Mapping):
        return ""
    if "template" in definition:
        compiled = compile_message(str(definition["template"]))
        if any(not catalogue.get(name) for name in compiled.variables):
            return ""
        return compiled.render(catalogue)
    key = catalogue.get(str(definition.get("by"))) or ""
    table: Mapping[str, Any] = definition.get("values") or {}
    if key in table:
        return str(table[key])
    folded = key.casefold()
    for candidate, value in table.items():
        if key and candidate.casefold() == folded:
            return str(value)
    return str(definition.get("default") or "")


def depends_on(definition: Any) -> list[str]:
    """The catalogue variables a declaration is computed from."""
    if isinstance(definition, Mapping) and "template" in definition:
        return [v.name for v in find_variables(str(definition["template"])) if is_known(v.name)]
    if isinstance(definition, Mapping) and isinstance(definition.get("by"), str):
        return [definition["by"]]
    return []


# -- finding and checking the file ------------------------------------------------------------


def stored_variables(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """The declared variables a sync stored with a template (``metadata.seqctl.variables``)."""
    entry = (metadata or {}).get(SEQCTL_KEY)
    found = entry.get("variables") if isinstance(entry, Mapping) else None
    return dict(found) if isinstance(found, Mapping) else {}


def declared_file_for(template_file: str) -> str | None:
    """The ``variables.yaml`` that applies to a template file: the one in its directory or
    the nearest parent directory, not above the project root (a directory holding
    ``.git``, ``seqctl.toml`` or ``.seqctl``)."""
    directory = Path(os.path.abspath(template_file)).parent
    while True:
        candidate = directory / DECLARED_FILE
        if candidate.is_file():
            return os.path.relpath(candidate) if _below_cwd(candidate) else str(candidate)
        if any((directory / marker).exists() for marker in ROOT_MARKERS):
            return None
        if directory.parent == directory:
            return None
        directory = directory.parent


def _below_cwd(path: Path) -> bool:
    try:
        return not os.path.relpath(path).startswith("..")
    except ValueError:
        return False


@functools.cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_path(SCHEMA_FILE).read_text(encoding="utf-8"))
    return schema


@functools.cache
def schema_validator() -> Any:
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(_schema())
    return Draft202012Validator(_schema())


def load_schema() -> dict[str, Any]:
    return json.loads(json.dumps(_schema()))  # type: ignore[no-any-return]


def load_declared(file: str) -> tuple[Declared | None, list[Problem]]:
    """The declarations of ``file`` and its problems (None when it has errors)."""
    from .loader import load_file

    loaded = load_file(file)
    return check_declared(loaded)


def check_declared(loaded: LoadedFile) -> tuple[Declared | None, list[Problem]]:
    problems = list(loaded.problems)
    if not loaded.readable:
        return None, problems
    data = loaded.data
    if isinstance(data, dict) and "steps" in data:
        problems.append(
            Problem.at(
                ERROR,
                loaded.source.nearest("$"),
                "$",
                f"{DECLARED_FILE} is the file of declared variables, but this looks like a "
                "template (it has `steps:`)",
                f"rename the template file; the name {DECLARED_FILE} is reserved",
            )
        )
        return None, problems
    for error in sorted(schema_validator().iter_errors(data), key=lambda e: list(e.path)):
        problems.append(_schema_problem(error, loaded))
    if not problems and isinstance(data, dict):
        for name, definition in data["variables"].items():
            if isinstance(definition, dict) and "template" in definition:
                problems.extend(_check_template(loaded, name, definition["template"]))
    if any(p.severity == ERROR for p in problems):
        return None, problems
    return Declared(dict(data["variables"]), loaded.file), problems


def _path(parts: Iterable[Any]) -> str:
    path = "$"
    for part in parts:
        path = index_path(path, part) if isinstance(part, int) else member_path(path, str(part))
    return path


def _schema_problem(error: Any, loaded: LoadedFile) -> Problem:
    """A jsonschema error as a problem at its place, with a message that says how to fix it."""
    hint: str | None = None
    if error.validator == "oneOf":
        chosen = _declaration_error(error)
        if chosen is None:
            path = _path(error.absolute_path)
            location = loaded.source.nearest(path)
            return Problem.at(
                ERROR,
                location,
                path,
                "a declared variable is a text, a template or a lookup",
                DECLARATION_FORMS,
            )
        error, hint = chosen, DECLARATION_FORMS
    path = _path(error.absolute_path)
    message = error.message
    if "propertyNames" in list(error.relative_schema_path):
        name = str(error.instance)
        message = f"`{name}` cannot be declared"
        hint = (
            f"`{{{name}}}` is a variable of the catalogue; declare another name"
            if name in KNOWN_VARIABLES
            else "a variable name is letters, digits and '_', not starting with a digit"
        )
        path = member_path(path, name)
        location = loaded.source.key_location(path)
        return Problem.at(ERROR, location, path, message, hint)
    if error.validator == "enum" and list(error.absolute_path)[-1:] == ["by"]:
        guess = suggest_variable(str(error.instance))
        message = f"`by: {error.instance}` is not a variable of the catalogue"
        hint = f"did you mean `{guess}`?" if guess else "name a catalogue variable, e.g. city"
    elif error.validator == "additionalProperties":
        hint = "remove it, or fix its spelling"
    elif error.validator == "required" and path == "$":
        hint = "write `variables:` followed by one indented `name: value` line per variable"
    return Problem.at(ERROR, loaded.source.nearest(path), path, message, hint)


DECLARATION_FORMS = (
    'write a text, `{template: "…{subdomain}…"}` or '
    "`{by: city, values: {City: value}, default: value}`"
)


def _declaration_error(error: Any) -> Any:
    """The error of the form a declaration was meant to have (a template or a lookup)."""
    instance = error.instance
    if not isinstance(instance, dict):
        return None
    branch = 1 if "template" in instance else 2 if {"by", "values"} & set(instance) else None
    inner = [e for e in error.context if list(e.relative_schema_path)[:1] == [branch]]
    return max(inner, key=lambda e: len(list(e.absolute_path))) if inner else None


def _check_template(loaded: LoadedFile, name: str, template: str) -> list[Problem]:
    path = member_path(member_path("$.variables", name), "template")
    problems = []
    for variable in find_variables(template):
        if is_known(variable.name):
            continue
        guess = suggest_variable(variable.name)
        problems.append(
            Problem.at(
                ERROR,
                loaded.source.nearest(path),
                path,
                f"`{{{variable.name}}}` is not a variable of the catalogue; a template is "
                "made of catalogue variables only",
                f"did you mean `{{{guess}}}`?" if guess else "see the catalogue in docs",
            )
        )
    return problems

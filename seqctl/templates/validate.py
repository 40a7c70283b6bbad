"""Validating template files: YAML → JSON Schema → semantic checks → ``TemplateSpec``.

The checker collects problems, it never raises for a bad file;
``seqctl.templates.problem_formats`` prints them. Entry points:

- :func:`validate_paths` — every file under the paths → :class:`ValidationResult`.
- :func:`load_templates` — the same, returning the valid templates too (for plan / sync).
- :func:`validate_bytes` — one document, for tests and tools.

Beyond the schema: keys unique across the files of a run (error), step names unique in a
template, message variables known (§5), delays of more than a year, YAML 1.1 surprises
(warnings); and no NUL character anywhere PostgreSQL would store it (error).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from typing import Any

from ..vocabulary import DEFAULT_DELAY_UNIT, DEFAULT_PRIORITY
from .declared import Declared
from .files import DECLARED_FILE, default_key, find_template_files
from .loader import LoadedFile, SourceMap, load_bytes, load_file
from .problems import (
    ERROR,
    WARNING,
    FileResult,
    Problem,
    Severity,
    ValidationResult,
    member_path,
)
from .schedule_format import check_schedules, file_hours, file_schedule
from .schema import SchemaError, schema_checker
from .spec import Location, StepSpec, TemplateSpec
from .variables import KNOWN_VARIABLES, is_known, spaced_tokens, suggest_variable, unknown_variables

KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
ONE_YEAR = {"minutes": 365 * 24 * 60, "hours": 365 * 24, "days": 365}

# words people write for an allowed value
_ALIASES = {
    "sms": "text",
    "message": "text",
    "phone": "call",
    "phone_call": "call",
    "mail": "email",
    "e-mail": "email",
    "social": "social_message",
    "dm": "social_message",
    "internal": "internal_activity",
    "task": "internal_activity",
    "note": "internal_activity",
    "normal": "medium",
    "urgent": "high",
    "min": "minutes",
    "mins": "minutes",
    "h": "hours",
    "hrs": "hours",
    "d": "days",
}
_DURATION = re.compile(r"\s*(\d+)\s*(minute|min|hour|hr|day|week|month)s?\s*", re.IGNORECASE)


def validate_paths(paths: Iterable[str | os.PathLike[str]]) -> ValidationResult:
    """Validate every template file under ``paths`` (files or directories).

    Raises :class:`~seqctl.errors.UsageError` only for a path that does not exist; every
    problem of a file is in the result.
    """
    files, problems = find_template_files(paths)
    result = ValidationResult(problems=problems)
    declared = _declared_variables(files, paths, result.problems)
    result.files = [check_loaded(load_file(file), declared.get(file)) for file in files]
    _check_unique_keys(result.files)
    return result


def _declared_variables(
    files: list[str], paths: Iterable[str | os.PathLike[str]], problems: list[Problem]
) -> dict[str, Declared]:
    """template file -> the declared variables that apply to it (``seqctl.templates.declared``); the
    problems of each variables file (and of one named explicitly) are added once, so a
    run with a bad variables file has errors and syncs nothing."""
    from .declared import declared_file_for, load_declared

    loaded: dict[str, Declared] = {}

    def load(file: str) -> Declared:
        key = os.path.abspath(file)
        if key not in loaded:
            declared, found = load_declared(file)
            problems.extend(found)
            loaded[key] = declared or Declared(source=file)
        return loaded[key]

    for path in paths:  # a variables file named explicitly is checked too
        if os.path.basename(os.fspath(path)) == DECLARED_FILE and os.path.isfile(path):
            load(os.fspath(path))
    result: dict[str, Declared] = {}
    by_directory: dict[str, str | None] = {}  # the answer depends on the directory only
    for file in files:
        directory = os.path.dirname(os.path.abspath(file))
        if directory not in by_directory:
            by_directory[directory] = declared_file_for(file)
        variables_file = by_directory[directory]
        result[file] = Declared() if variables_file is None else load(variables_file)
    return result


def load_templates(
    paths: Iterable[str | os.PathLike[str]],
) -> tuple[list[TemplateSpec], ValidationResult]:
    """The templates of the valid files under ``paths``, and the full validation result.

    Bad files raise nothing: they are left out of the list and their problems are in the
    result. A caller that changes the database should refuse unless
    ``result.ok()`` (a left-out file would otherwise look like a removed template).
    ``TemplateSpec.locations`` / ``.location(json_path)`` point into the source file for
    errors found later (e.g. an unknown task template during sync). Raises
    :class:`~seqctl.errors.UsageError` for a path that does not exist.
    """
    result = validate_paths(paths)
    return result.templates, result


def validate_bytes(data: bytes, file: str = "template.yaml") -> FileResult:
    """Validate one document given as bytes; ``file`` names it and gives the default key."""
    return check_loaded(load_bytes(data, file))


def check_loaded(loaded: LoadedFile, declared: Declared | None = None) -> FileResult:
    """Schema and semantic checks of one loaded file (keys across files: not here).

    ``declared``: the declared variables that apply to the file (known in messages)."""
    result = FileResult(loaded.file, problems=list(loaded.problems))
    if not loaded.readable or not isinstance(loaded.data, dict):
        return result
    data: dict[str, Any] = loaded.data
    source = loaded.source
    # a value the loader refused (e.g. an unsupported tag) needs no second, schema error
    failed = set(loaded.refused)
    for error in schema_checker()(data):
        if error.path not in failed:
            failed.add(error.path)
            result.problems.append(_schema_problem(error, source, loaded))
    for path, note in loaded.yaml11.items():
        if path not in failed:
            result.problems.append(Problem.at(WARNING, source[path], path, note.message, note.hint))
    checks = _Semantics(source, failed, result.problems, declared.names if declared else ())
    result.key, result.key_location = checks.key(data)
    checks.steps(data.get("steps"))
    check_schedules(
        data, failed, lambda path, message, hint: checks.add(ERROR, path, message, hint)
    )
    if "metadata" in data:
        checks.storable(data["metadata"], "$.metadata")
    result.problems.sort(key=Problem.sort_key)
    if result.valid and result.key is not None:
        key = result.key
        variables = dict(declared.definitions) if declared else {}
        result.build = lambda: _template(data, key, loaded.file, source, variables)
    return result


# -- schema errors as problems ------------------------------------------------------------


def _schema_problem(error: SchemaError, source: SourceMap, loaded: LoadedFile) -> Problem:
    location = source.key_location(error.path) if error.at_key else source.nearest(error.path)
    message, hint = error.message, error.hint
    if error.keyword == "type":
        message, hint = _explain_type(error, source, loaded)
    elif error.keyword == "enum" and hint is None:
        value = _value_at(loaded.data, error.path)
        if isinstance(value, str):
            hint = _enum_hint(value)
    elif error.keyword == "pattern" and error.path == "$.key":
        key = str(_value_at(loaded.data, "$.key"))
        if "\n" in key or "\r" in key:  # JSON Schema's `$` is the end of the text (ECMA-262)
            message, hint = "a key cannot contain line breaks", "write the key on one line"
        else:
            hint = f"for example `key: {_slug(key)}`"
    elif error.keyword == "pattern":
        hint = "remove it (in double quotes it is written \\0, \\x00 or \\u0000)"
    elif error.keyword == "minItems" and error.path == "$.steps":
        hint = "add at least one step (`- name: …` and `type: …`)"
    return Problem.at(ERROR, location, error.path, message, hint)


def _explain_type(error: SchemaError, source: SourceMap, loaded: LoadedFile) -> tuple[str, str]:
    """Say why YAML produced the wrong type, and how to write what was meant."""
    value = _value_at(loaded.data, error.path)
    text = loaded.plain.get(error.path)  # set when YAML read unquoted text as a non-string
    expected = error.expected_type
    if value is None:
        return error.message, "fill in a value (or remove the line if the key is optional)"
    if expected == "string" and text is not None:
        kind = "a boolean" if isinstance(value, bool) else "a number"
        return (
            f"{error.message}: YAML reads the unquoted `{text}` as {kind}",
            f'quote the value: "{text}"',
        )
    if expected == "integer" and isinstance(value, str):
        match = _DURATION.fullmatch(value)
        if match:
            return error.message, _duration_hint(int(match.group(1)), match.group(2).lower())
        return error.message, "write a whole number without quotes, e.g. 3"
    if expected == "boolean" and isinstance(value, str):
        return error.message, "write true or false, without quotes"
    if expected == "array" and isinstance(value, str):
        return error.message, f'write a list: [{value}] or one "- item" per line'
    return error.message, _HOW_TO_WRITE.get(expected or "", "see the schema")


_HOW_TO_WRITE = {
    "string": "write text; quote it if it could be read as something else",
    "integer": "write a whole number, e.g. 3",
    "number": "write a number, e.g. 3",
    "boolean": "write true or false",
    "object": "write a mapping: indented `key: value` lines, or {} for none",
    "array": "write a list: one `- item` per line, or [a, b]",
}


def _duration_hint(amount: int, unit: str) -> str:
    if unit in ("week", "month"):
        days = amount * (7 if unit == "week" else 30)
        return f"write delay_value: {days} and delay_unit: days (there is no {unit}s unit)"
    unit = {"min": "minute", "hr": "hour"}.get(unit, unit)
    return f"write delay_value: {amount} and delay_unit: {unit}s"


def _enum_hint(value: str) -> str | None:
    lowered = value.strip().lower()
    if lowered in ("week", "weeks", "month", "months"):
        return "there is no such unit; write the delay in days (1 week = 7 days)"
    if lowered in _ALIASES:
        return f"did you mean `{_ALIASES[lowered]}`?"
    return None


def _value_at(data: Any, path: str) -> Any:
    """The value at a path this module produced (``$.a.b[0]``); ``None`` if absent."""
    value = data
    for name, index in re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]", path[1:]):
        if name and isinstance(value, dict):
            value = value.get(name)
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return None
    return value


# -- semantic checks ----------------------------------------------------------------------


class _Semantics:
    """Checks the schema cannot express; defensive, since the data may be schema-invalid."""

    def __init__(
        self,
        source: SourceMap,
        failed: set[str],
        problems: list[Problem],
        declared: tuple[str, ...] = (),
    ) -> None:
        self.source = source
        self.failed = failed
        self.problems = problems
        self.declared = declared

    def add(self, severity: Severity, path: str, message: str, hint: str | None) -> None:
        location = self.source.nearest(path)
        self.problems.append(Problem.at(severity, location, path, message, hint))

    def key(self, data: dict[str, Any]) -> tuple[str | None, Location | None]:
        key = data.get("key")
        if "key" in data:
            if not isinstance(key, str) or "$.key" in self.failed:
                return None, None
            if not KEY_PATTERN.fullmatch(key):
                self.add(
                    ERROR, "$.key", "a key cannot contain line breaks", "write the key on one line"
                )
                return None, None
            return key, self.source.nearest("$.key")
        key = default_key(self.source.file)
        if KEY_PATTERN.fullmatch(key):
            return key, None
        self.add(
            ERROR,
            "$",
            f"no `key:` given, and the file name `{key}` is not a valid key (1 to 63 "
            "lower-case letters, digits, '-' or '_')",
            f"add `key: {_slug(key)}` or rename the file",
        )
        return None, None

    def steps(self, steps: Any) -> None:
        if not isinstance(steps, list):
            return
        names: dict[str, int] = {}
        for index, step in enumerate(steps):
            if not isinstance(step, dict):
                continue
            path = f"$.steps[{index}]"
            name = step.get("name")
            if isinstance(name, str) and f"{path}.name" not in self.failed:
                first = names.setdefault(name.strip().casefold(), index)
                if first != index:
                    self.add(
                        WARNING,
                        f"{path}.name",
                        f"step {index + 1} has the same name as step {first + 1} "
                        f"($.steps[{first}].name): {name!r}",
                        "give each step its own name so that their tasks can be told apart",
                    )
            for field in ("custom_message", "subject_line"):
                message = step.get(field)
                if isinstance(message, str) and "{" in message:
                    self.message(message, f"{path}.{field}")
            self.subject(step, path)
            if "delay_value" in step:
                self.delay(step, path)
            if "metadata" in step:
                self.storable(step["metadata"], f"{path}.metadata")

    def subject(self, step: dict[str, Any], path: str) -> None:
        """A subject line on a step that is not an email: kept, never rendered (a warning,
        as the application stores it on any step and renders it for email tasks only)."""
        kind = step.get("type")
        if "subject_line" not in step or kind == "email" or not isinstance(kind, str):
            return
        if f"{path}.type" in self.failed or f"{path}.subject_line" in self.failed:
            return
        self.add(
            WARNING,
            f"{path}.subject_line",
            f"subject_line on a {kind} step: only email tasks get a subject; it is stored "
            "but never rendered",
            "remove subject_line, or make the step `type: email`",
        )

    def message(self, text: str, path: str) -> None:
        for name in unknown_variables(text, self.declared):
            guess = suggest_variable(name, self.declared)
            self.add(
                WARNING,
                path,
                f"unknown variable `{{{name}}}`; it will be left as written",
                f"did you mean `{{{guess}}}`?"
                if guess
                else "known variables: "
                + ", ".join([*KNOWN_VARIABLES, *self.declared])
                + f"; or declare it in {DECLARED_FILE}",
            )
        for written, name in spaced_tokens(text):
            if is_known(name, self.declared):
                self.add(
                    WARNING,
                    path,
                    f"`{written}` is not a variable (spaces inside braces)",
                    f"write `{{{name}}}`",
                )

    def delay(self, step: dict[str, Any], path: str) -> None:
        value = step.get("delay_value", 0)
        unit = step.get("delay_unit", DEFAULT_DELAY_UNIT)
        if type(value) not in (int, float) or unit not in ONE_YEAR:
            return
        if f"{path}.delay_value" in self.failed or value <= ONE_YEAR[unit]:
            return
        self.add(
            WARNING,
            f"{path}.delay_value",
            f"a delay of {int(value)} {unit} is more than a year",
            "check delay_value and delay_unit",
        )

    def storable(self, value: Any, path: str) -> None:
        """PostgreSQL JSON cannot hold the NUL character, in keys or strings."""
        for where, text in _strings(value, path):
            if "\x00" in text:
                self.add(
                    ERROR,
                    where,
                    "contains the NUL character (\\u0000), which PostgreSQL cannot store",
                    "remove it",
                )


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            child = member_path(path, key)
            yield child, key
            yield from _strings(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    return slug[:63] or "my-template"


def _check_unique_keys(results: list[FileResult]) -> None:
    by_key: dict[str, list[FileResult]] = {}
    for result in results:
        if result.key is not None:
            by_key.setdefault(result.key, []).append(result)
    for key, sharing in by_key.items():
        if len(sharing) < 2:
            continue
        for result in sharing:
            others = ", ".join(
                str(other.key_location or other.file) for other in sharing if other is not result
            )
            location = result.key_location or Location(result.file, 1, 1)
            how = "its `key:`" if result.key_location else "the key taken from its file name"
            result.problems.append(
                Problem.at(
                    ERROR,
                    location,
                    "$.key" if result.key_location else "$",
                    f"key `{key}` ({how}) is also the key of {others}",
                    "keys must be unique across the templates of one sync; change `key:` in "
                    "one of the files",
                )
            )
            result.problems.sort(key=Problem.sort_key)
            result.build = None


# -- building the model -------------------------------------------------------------------


def _template(
    data: dict[str, Any],
    key: str,
    file: str,
    source: SourceMap,
    variables: dict[str, Any] | None = None,
) -> TemplateSpec:
    steps = tuple(
        StepSpec(
            step_order=order,
            name=step["name"],
            type=step["type"],
            priority=step.get("priority", DEFAULT_PRIORITY),
            description=step.get("description"),
            delay_value=int(step.get("delay_value", 0)),
            delay_unit=step.get("delay_unit", DEFAULT_DELAY_UNIT),
            task_template=step.get("task_template"),
            message_template=step.get("message_template"),
            custom_message=step.get("custom_message"),
            metadata=step.get("metadata", {}),
            subject_line=step.get("subject_line"),
            hours=file_hours(step),
        )
        for order, step in enumerate(data["steps"], start=1)
    )
    return TemplateSpec(
        key=key,
        name=data["name"],
        steps=steps,
        description=data.get("description"),
        tags=tuple(data.get("tags", ())),
        is_active=data.get("is_active", True),
        running_instances=data.get("running_instances", "keep"),
        metadata=data.get("metadata", {}),
        source=file,
        locations=source,
        variables=variables or {},
        schedule=file_schedule(data),
    )

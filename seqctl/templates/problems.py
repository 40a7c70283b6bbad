"""What validation finds: problems with their source position, per file and per run.

The checker collects a :class:`ValidationResult`; ``seqctl.templates.problem_formats`` prints
it. JSON paths are written ``$``, ``$.steps[0].delay_value``, ``$.metadata['odd key']``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .spec import Location, TemplateSpec

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"


@dataclass(frozen=True)
class Problem:
    """One finding: where (file, line, column, JSON path), what, and how to fix it."""

    severity: Severity
    file: str
    line: int | None
    column: int | None
    json_path: str
    message: str
    hint: str | None = None

    @classmethod
    def at(
        cls,
        severity: Severity,
        location: Location,
        json_path: str,
        message: str,
        hint: str | None = None,
    ) -> Problem:
        file, line, column = location.file, location.line, location.column
        return cls(severity, file, line, column, json_path, message, hint)

    @property
    def where(self) -> str:
        """``file:line:col``, or just ``file`` when the problem has no position."""
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.column or 1}"

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line or 0, self.column or 0, self.json_path)


@dataclass
class FileResult:
    """The outcome for one file: its problems and, when it has no errors, its template."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    key: str | None = None
    key_location: Location | None = None  # where `key:` is written; None: from the file name
    # makes the template; kept until needed, since `seqctl validate` rarely needs it
    build: Callable[[], TemplateSpec] | None = field(default=None, repr=False, compare=False)
    _template: TemplateSpec | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def template(self) -> TemplateSpec | None:
        """The file's template, or ``None`` when the file has errors."""
        if self.build is None or not self.valid:
            return None
        if self._template is None:
            self._template = self.build()
        return self._template

    @property
    def errors(self) -> int:
        return sum(1 for problem in self.problems if problem.severity == ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for problem in self.problems if problem.severity == WARNING)

    @property
    def valid(self) -> bool:
        return self.errors == 0


@dataclass
class ValidationResult:
    """All files of one run, plus problems that belong to no single file."""

    files: list[FileResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def all_problems(self) -> Iterator[Problem]:
        yield from self.problems
        for result in self.files:
            yield from result.problems

    @property
    def error_count(self) -> int:
        return sum(1 for problem in self.all_problems() if problem.severity == ERROR)

    @property
    def warning_count(self) -> int:
        return sum(1 for problem in self.all_problems() if problem.severity == WARNING)

    @property
    def files_with_problems(self) -> int:
        return sum(1 for result in self.files if result.problems)

    def ok(self, *, strict: bool = False) -> bool:
        """No errors (and, when ``strict``, no warnings either)."""
        return self.error_count == 0 and not (strict and self.warning_count)

    @property
    def templates(self) -> list[TemplateSpec]:
        """The templates of the files without errors, in file order."""
        return [result.template for result in self.files if result.template is not None]


# -- JSON paths -----------------------------------------------------------------------


def member_path(parent: str, key: str) -> str:
    """The path of ``parent``'s member ``key``: ``$.name`` or ``$['odd key']``."""
    if key.isidentifier() and key.isascii():
        return f"{parent}.{key}"
    quoted = json.dumps(key, ensure_ascii=False)[1:-1].replace('\\"', '"').replace("'", "\\'")
    return f"{parent}['{quoted}']"


def index_path(parent: str, index: int) -> str:
    return f"{parent}[{index}]"


def parent_path(path: str) -> str | None:
    """The enclosing path (``$.steps[0].name`` → ``$.steps[0]``); ``None`` for ``$``."""
    if path in ("$", ""):
        return None
    segments = _SEGMENT.findall(path, 1)
    if "".join(segments) != path[1:]:
        return "$"  # not a path this module wrote
    return "$" + "".join(segments[:-1])


_SEGMENT = re.compile(r"\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|\['(?:[^'\\]|\\.)*'\]")

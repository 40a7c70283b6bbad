"""Printing a :class:`~seqctl.templates.problems.ValidationResult`: text, JSON or GitHub
annotations.

The checker collects, a reporter renders: each reporter turns a result into the complete
output text, and :data:`REPORTERS` also supplies the ``--format`` choices of
``seqctl validate``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..inert import inert
from .problems import ERROR, Problem, ValidationResult

Reporter = Callable[[ValidationResult], str]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def summary(result: ValidationResult) -> str:
    """``3 errors, 1 warning in 2 of 40 files`` (or ``… in 40 files`` when all are clean)."""
    counts = f"{_plural(result.error_count, 'error')}, {_plural(result.warning_count, 'warning')}"
    total = len(result.files)
    if result.files_with_problems:
        return f"{counts} in {result.files_with_problems} of {_plural(total, 'file')}"
    return f"{counts} in {_plural(total, 'file')}"


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())


def text_line(problem: Problem) -> str:
    """``file:line:col: error: $.path: message (hint: …)``"""
    parts = [inert(problem.where), problem.severity]
    if problem.json_path:
        parts.append(problem.json_path)
    line = ": ".join(parts) + ": " + _one_line(problem.message)
    if problem.hint:
        line += f" (hint: {_one_line(problem.hint)})"
    return line


def render_text(result: ValidationResult) -> str:
    lines = [text_line(problem) for problem in result.all_problems()]
    lines.append(summary(result))
    return "\n".join(lines)


def _problem_json(problem: Problem) -> dict[str, Any]:
    return {
        "severity": problem.severity,
        "line": problem.line,
        "column": problem.column,
        "json_path": problem.json_path,
        "message": problem.message,
        "hint": problem.hint,
    }


def render_json(result: ValidationResult) -> str:
    document = {
        "format_version": "1",
        "valid": result.ok(),
        "counts": {
            "files": len(result.files),
            "files_with_problems": result.files_with_problems,
            "errors": result.error_count,
            "warnings": result.warning_count,
        },
        "files": [
            {
                "file": item.file,
                "key": item.key,
                "valid": item.valid,
                "digest": item.template.digest if item.template else None,
                "problems": [_problem_json(problem) for problem in item.problems],
            }
            for item in result.files
        ],
        "problems": [
            {"file": problem.file, **_problem_json(problem)} for problem in result.problems
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_line(problem: Problem) -> str:
    """A workflow command: ``::error file=…,line=…,col=…,title=…::message``."""
    properties = [f"file={_escape_property(problem.file)}"]
    if problem.line is not None:
        properties.append(f"line={problem.line}")
        properties.append(f"col={problem.column or 1}")
    title = f"seqctl validate: {problem.json_path}" if problem.json_path else "seqctl validate"
    properties.append(f"title={_escape_property(title)}")
    message = problem.message + (f" (hint: {problem.hint})" if problem.hint else "")
    command = "error" if problem.severity == ERROR else "warning"
    return f"::{command} {','.join(properties)}::{_escape_data(message)}"


def render_github(result: ValidationResult) -> str:
    lines = [github_line(problem) for problem in result.all_problems()]
    lines.append(summary(result))
    return "\n".join(lines)


REPORTERS: dict[str, Reporter] = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
}

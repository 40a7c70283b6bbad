"""Reporters: text lines, the summary, JSON and GitHub workflow commands."""

from __future__ import annotations

import json

from seqctl.templates.problem_formats import REPORTERS, github_line, render_json, summary, text_line
from seqctl.templates.problems import FileResult, Problem, ValidationResult

ERROR = Problem("error", "s/a.yaml", 7, 5, "$.steps[0].delay_value", "-1 is less than 0", "use 0")
WARNING = Problem("warning", "s/b.yaml", 2, 1, "$.name", "odd\nname")
DIRECTORY = Problem("warning", "empty", None, None, "", "no template files")


def result() -> ValidationResult:
    return ValidationResult(
        files=[
            FileResult("s/a.yaml", [ERROR]),
            FileResult("s/b.yaml", [WARNING]),
            FileResult("s/c.yaml"),
        ],
        problems=[DIRECTORY],
    )


def test_text_lines() -> None:
    assert text_line(ERROR) == (
        "s/a.yaml:7:5: error: $.steps[0].delay_value: -1 is less than 0 (hint: use 0)"
    )
    assert text_line(WARNING) == "s/b.yaml:2:1: warning: $.name: odd name"
    assert text_line(DIRECTORY) == "empty: warning: no template files"


def test_summary() -> None:
    assert summary(result()) == "1 error, 2 warnings in 2 of 3 files"
    assert summary(ValidationResult(files=[FileResult("a")])) == "0 errors, 0 warnings in 1 file"
    assert REPORTERS["text"](result()).splitlines()[-1] == summary(result())


def test_json() -> None:
    document = json.loads(render_json(result()))
    assert document["format_version"] == "1" and document["valid"] is False
    assert document["counts"] == {"files": 3, "files_with_problems": 2, "errors": 1, "warnings": 2}
    first = document["files"][0]
    assert first["file"] == "s/a.yaml" and first["valid"] is False
    assert first["problems"] == [
        {
            "severity": "error",
            "line": 7,
            "column": 5,
            "json_path": "$.steps[0].delay_value",
            "message": "-1 is less than 0",
            "hint": "use 0",
        }
    ]
    assert document["problems"][0]["file"] == "empty"


def test_github() -> None:
    assert github_line(ERROR) == (
        "::error file=s/a.yaml,line=7,col=5,title=seqctl validate%3A $.steps[0].delay_value"
        "::-1 is less than 0 (hint: use 0)"
    )
    assert github_line(WARNING).endswith("::odd%0Aname")
    assert github_line(DIRECTORY) == "::warning file=empty,title=seqctl validate::no template files"
    tricky = Problem("error", "a,b:c%.yaml", 1, 1, "$", "100% broken\r\n")
    assert github_line(tricky).startswith("::error file=a%2Cb%3Ac%25.yaml,")
    assert github_line(tricky).endswith("::100%25 broken%0D%0A")


def test_reporters_are_the_format_choices() -> None:
    from seqctl.cli.template_commands import ValidateFormat

    assert sorted(REPORTERS) == sorted(f.value for f in ValidateFormat)

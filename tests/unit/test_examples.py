"""The example folders: every file of tests/examples/{positive,negative} is one case.

A file lists the problems it must produce in its first lines, one per line:
``# expect: error 7:5 $.steps[0].delay_value`` (severity, line:column, JSON path).
Positive files have no errors (they may expect warnings); negative files expect at least
one error. The problems found must be exactly the ones listed. The shipped templates in
sequences/ must be valid without a single warning.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from seqctl.templates.validate import validate_paths

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "tests" / "examples"
EXPECT = re.compile(r"# expect: (error|warning) (\d+):(\d+) (\S+)\s*$")


def cases(kind: str) -> list[Path]:
    return sorted(p for p in (EXAMPLES / kind).iterdir() if p.suffix in (".yaml", ".yml"))


def expectations(path: Path) -> list[tuple[str, int, int, str]]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("# expect:"):
            break
        match = EXPECT.match(line)
        assert match, f"{path}: malformed expectation {line!r}"
        severity, row, column, json_path = match.groups()
        found.append((severity, int(row), int(column), json_path))
    return found


def problems(path: Path) -> list[tuple[str, int, int, str]]:
    result = validate_paths([path])
    return [
        (problem.severity, problem.line or 0, problem.column or 0, problem.json_path)
        for problem in result.all_problems()
    ]


@pytest.mark.parametrize("path", cases("positive"), ids=lambda p: p.name)
def test_positive_example(path: Path) -> None:
    expected = expectations(path)
    assert all(severity == "warning" for severity, *_ in expected)
    assert problems(path) == expected
    assert validate_paths([path]).templates, "a valid file gives a template"


@pytest.mark.parametrize("path", cases("negative"), ids=lambda p: p.name)
def test_negative_example(path: Path) -> None:
    expected = expectations(path)
    assert any(severity == "error" for severity, *_ in expected), "list the expected error"
    assert problems(path) == expected
    assert validate_paths([path]).templates == []


def test_every_problem_says_where_what_and_how() -> None:
    for path in cases("negative"):
        for problem in validate_paths([path]).all_problems():
            assert problem.file == str(path.relative_to(ROOT)) or problem.file == str(path)
            assert problem.line and problem.column and problem.json_path.startswith("$")
            assert problem.message and "\n" not in problem.message


def test_shipped_templates_are_valid_without_warnings() -> None:
    result = validate_paths([ROOT / "sequences"])
    assert list(result.all_problems()) == []
    keys = sorted(template.key for template in result.templates)
    assert keys == ["demo-booking", "follow-up", "restaurant-onboarding"]
    for template in result.templates:
        assert 3 <= len(template.steps) <= 6
        first_line = Path(template.source).read_text(encoding="utf-8").splitlines()[0]
        assert first_line == (
            "# yaml-language-server: $schema=../schemas/sequence-template.schema.json"
        )


def test_shipped_templates_use_demo_templates_and_variables() -> None:
    from seqctl.db.demo import MESSAGE_TEMPLATES, TASK_TEMPLATES
    from seqctl.templates.variables import find_variables

    task_names = {name for name, *_ in TASK_TEMPLATES}
    message_names = {name for name, *_ in MESSAGE_TEMPLATES}
    used_tasks: set[str] = set()
    used_messages: set[str] = set()
    variables: set[str] = set()
    units: set[str] = set()
    types: set[str] = set()
    for template in validate_paths([ROOT / "sequences"]).templates:
        for step in template.steps:
            if step.task_template:
                assert step.task_template in task_names
                used_tasks.add(step.task_template)
            if step.message_template:
                assert step.message_template in message_names
                used_messages.add(step.message_template)
            variables.update(v.name for v in find_variables(step.custom_message or ""))
            units.add(step.delay_unit)
            types.add(step.type)
    assert used_tasks == task_names and used_messages == message_names
    assert units == {"minutes", "hours", "days"}
    assert len(types) >= 4 and variables

"""Declared variables (variables.yaml) and the step fields of revision 005, checked offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqctl.templates.declared import declared_file_for, load_schema
from seqctl.templates.validate import validate_bytes, validate_paths
from seqctl.templates.variables import KNOWN_VARIABLES

TEMPLATE = """\
name: Demo booking
steps:
  - name: Book the demo
    type: demo_meeting
  - name: Follow up
    type: email
    subject_line: "Your ordering site {ordering_url}"
    custom_message: "Hi {first_name}, see {example_restaurant_1} at {ordering_url}"
"""

VARIABLES = """\
variables:
  admin_url: https://admin.pumpd.co.nz
  ordering_url:
    template: "https://{subdomain}.pumpd.co.nz"
  example_restaurant_1:
    by: city
    values:
      Auckland: Eat Mi
      Wellington: Chaat Street
    default: Eat Mi
"""


def _write(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_schema_lists_the_catalogue() -> None:
    schema = load_schema()
    assert schema["$defs"]["catalogue_variable"]["enum"] == list(KNOWN_VARIABLES)
    names = schema["properties"]["variables"]["propertyNames"]
    assert names["not"]["enum"] == list(KNOWN_VARIABLES)


def test_demo_meeting_and_subject_line_are_valid() -> None:
    result = validate_bytes(TEMPLATE.replace("{ordering_url}", "{city}").encode(), "demo.yaml")
    assert result.valid, result.problems
    template = result.template
    assert template is not None
    assert template.steps[0].type == "demo_meeting"
    assert template.steps[1].subject_line == "Your ordering site {city}"


def test_subject_line_on_a_step_that_is_not_an_email_is_a_warning() -> None:
    text = "name: Calls\nsteps:\n  - name: Ring them\n    type: call\n    subject_line: Hello\n"
    result = validate_bytes(text.encode(), "calls.yaml")
    assert result.valid
    [problem] = result.problems
    assert (problem.severity, problem.json_path, problem.line) == (
        "warning",
        "$.steps[0].subject_line",
        5,
    )
    assert "only email tasks get a subject" in problem.message


def test_unknown_variables_in_a_subject_line_are_warnings() -> None:
    result = validate_bytes(TEMPLATE.encode(), "demo.yaml")
    assert result.valid
    paths = [(p.json_path, p.message) for p in result.problems]
    assert (
        "$.steps[1].subject_line",
        "unknown variable `{ordering_url}`; it will be left as written",
    ) in paths


def test_declared_variables_are_known_to_the_templates_beside_them(tmp_path: Path) -> None:
    _write(tmp_path, {"seq/demo.yaml": TEMPLATE, "seq/variables.yaml": VARIABLES, ".git/x": ""})
    result = validate_paths([tmp_path / "seq"])
    assert result.ok(strict=True), list(result.all_problems())
    [template] = result.templates
    assert template.variables["admin_url"] == "https://admin.pumpd.co.nz"
    assert template.variables["ordering_url"] == {"template": "https://{subdomain}.pumpd.co.nz"}
    assert [f.file for f in result.files] == [str(tmp_path / "seq" / "demo.yaml")]


def test_a_nested_template_uses_the_nearest_variables_file(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "seqctl.toml": "",
            "seq/variables.yaml": VARIABLES,
            "seq/team/demo.yaml": TEMPLATE,
            "seq/other/variables.yaml": "variables:\n  admin_url: https://other\n",
            "seq/other/demo.yaml": TEMPLATE.replace("{", "(").replace("key:", "#"),
        },
    )
    nested = declared_file_for(str(tmp_path / "seq" / "team" / "demo.yaml"))
    assert nested is not None and Path(nested).resolve() == tmp_path / "seq" / "variables.yaml"
    other = declared_file_for(str(tmp_path / "seq" / "other" / "demo.yaml"))
    assert other is not None and Path(other).resolve().parent.name == "other"
    assert declared_file_for(str(tmp_path / "demo.yaml")) is None


@pytest.mark.parametrize(
    ("text", "line", "column", "path", "message"),
    [
        ("variables:\n  city: Wellington\n", 2, 3, "$.variables.city", "`city` cannot be declared"),
        ("variables:\n  1st: x\n", 2, 3, "$.variables['1st']", "`1st` cannot be declared"),
        (
            "variables:\n  x:\n    by: town\n    values: {}\n",
            3,
            9,
            "$.variables.x.by",
            "`by: town` is not a variable of the catalogue",
        ),
        (
            "variables:\n  x:\n    template: 'https://{sub_domain}.x'\n",
            3,
            15,
            "$.variables.x.template",
            "`{sub_domain}` is not a variable of the catalogue",
        ),
        ("variables:\n  x: 3\n", 2, 6, "$.variables.x", "a declared variable is a text"),
        ("{}\n", 1, 1, "$", "'variables' is a required property"),
    ],
)
def test_errors_point_at_the_place(
    tmp_path: Path, text: str, line: int, column: int, path: str, message: str
) -> None:
    _write(tmp_path, {"seq/variables.yaml": text, "seq/a.yaml": TEMPLATE, ".git/x": ""})
    result = validate_paths([tmp_path / "seq"])
    errors = [p for p in result.all_problems() if p.severity == "error"]
    assert errors, list(result.all_problems())
    first = errors[0]
    assert first.file.endswith("variables.yaml")
    assert (first.line, first.column, first.json_path) == (line, column, path), first
    assert first.message.startswith(message), first.message
    assert first.hint


def test_a_template_named_variables_yaml_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, {"seq/variables.yaml": TEMPLATE, ".git/x": ""})
    result = validate_paths([tmp_path / "seq/variables.yaml"])
    [error] = [p for p in result.all_problems() if p.severity == "error"]
    assert "looks like a template" in error.message and error.hint

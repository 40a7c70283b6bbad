"""Validation beyond the schema, the model it builds, and the library API for plan / sync."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqctl.errors import UsageError
from seqctl.templates.problems import FileResult
from seqctl.templates.spec import Location, StepSpec
from seqctl.templates.validate import load_templates, validate_bytes, validate_paths

STEP = "  - name: Intro call\n    type: call\n"


def problems(result: FileResult) -> list[tuple[str, str, str]]:
    return [(p.severity, p.json_path, p.message) for p in result.problems]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- the model ---------------------------------------------------------------------------------


def test_template_with_defaults() -> None:
    result = validate_bytes(
        b"name: Onboarding\nsteps:\n  - name: Intro call\n    type: call\n"
        b"  - name: Welcome\n    type: email\n    delay_value: 2.0\n    delay_unit: hours\n",
        "sequences/onboarding.yaml",
    )
    template = result.template
    assert template is not None and result.problems == []
    assert (template.key, template.name, template.is_active, template.tags) == (
        "onboarding",
        "Onboarding",
        True,
        (),
    )
    assert template.description is None and dict(template.metadata) == {}
    assert template.source == "sequences/onboarding.yaml"
    assert template.steps == (
        StepSpec(step_order=1, name="Intro call", type="call"),
        StepSpec(step_order=2, name="Welcome", type="email", delay_value=2, delay_unit="hours"),
    )
    assert type(template.steps[1].delay_value) is int
    assert template.location("$.steps[1].delay_value") == Location(
        "sequences/onboarding.yaml", 7, 18
    )
    assert template.location("$.steps[1].priority") == Location("sequences/onboarding.yaml", 5, 5)
    assert template.digest.startswith("sha256:")


def test_digest_ignores_formatting_but_not_content() -> None:
    block = validate_bytes(b"name: Same\nsteps:\n  - name: Intro call\n    type: call\n", "a.yaml")
    flow = validate_bytes(
        b"# comment\nname: 'Same'\nsteps: [{type: call, name: Intro call, priority: medium}]\n",
        "a.yaml",
    )
    other = validate_bytes(b"name: Same\nsteps: [{type: call, name: Intro calls}]\n", "a.yaml")
    assert block.template and flow.template and other.template
    assert block.template.digest == flow.template.digest != other.template.digest


def test_explicit_key_and_everything_else() -> None:
    result = validate_bytes(
        b"key: my-key\nname: All\ndescription: d\ntags: [a, b]\nis_active: false\n"
        b"metadata: {owner: ops}\nsteps:\n  - name: Step one\n    type: text\n    priority: low\n"
        b"    description: x\n    task_template: Menu review\n    message_template: Welcome email\n"
        b"    custom_message: Hi {first_name}\n    metadata: {a: 1}\n",
        "whatever.yaml",
    )
    template = result.template
    assert template is not None
    assert (template.key, template.tags, template.is_active) == ("my-key", ("a", "b"), False)
    assert template.steps[0].normalised() == {
        "name": "Step one",
        "type": "text",
        "priority": "low",
        "description": "x",
        "delay_value": 0,
        "delay_unit": "days",
        "task_template": "Menu review",
        "message_template": "Welcome email",
        "custom_message": "Hi {first_name}",
        "metadata": {"a": 1},
    }


# -- semantic checks -----------------------------------------------------------------------------


def test_key_from_an_invalid_file_name() -> None:
    result = validate_bytes(b"name: Good\nsteps:\n" + STEP.encode(), "dir/My Template.yaml")
    assert result.template is None
    (problem,) = result.problems
    assert problem.json_path == "$" and "file name `My Template`" in problem.message
    assert problem.hint == "add `key: my-template` or rename the file"


def test_key_with_a_trailing_newline() -> None:
    result = validate_bytes(b'key: "abc\\n"\nname: Good\nsteps:\n' + STEP.encode(), "a.yaml")
    assert problems(result) == [("error", "$.key", "a key cannot contain line breaks")]


def test_duplicate_step_names_warn() -> None:
    result = validate_bytes(b"name: Good\nsteps:\n" + STEP.encode() * 2, "a.yaml")
    assert [(s, p) for s, p, _ in problems(result)] == [("warning", "$.steps[1].name")]
    assert result.template is not None


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Hi {first_name} from {organisation_name}, {today} {current_year}", []),
        ("Hi {firstname}", ["unknown variable `{firstname}`"]),
        ("Hi {Restaurant_Name}", ["unknown variable `{Restaurant_Name}`"]),
        ("Hi {nothing_like_it}", ["unknown variable `{nothing_like_it}`"]),
        ("Hi { first_name }", ["`{ first_name }` is not a variable (spaces inside braces)"]),
        ('JSON {"a": 1} and {} and {1}', []),
    ],
)
def test_message_variables(message: str, expected: list[str]) -> None:
    text = f"name: Good\nsteps:\n{STEP}    custom_message: '{message}'\n"
    result = validate_bytes(text.encode(), "a.yaml")
    found = [p.message.split(";")[0] for p in result.problems]
    assert found == expected
    assert all(p.severity == "warning" for p in result.problems)


def test_unknown_variable_hints() -> None:
    text = f"name: Good\nsteps:\n{STEP}    custom_message: 'Hi {{firstname}} {{zzz}}'\n"
    hints = [p.hint for p in validate_bytes(text.encode(), "a.yaml").problems]
    assert hints[0] == "did you mean `{first_name}`?"
    assert hints[1] is not None and hints[1].startswith("known variables: restaurant_name")


@pytest.mark.parametrize(
    ("value", "unit", "warns"),
    [
        (365, "days", False),
        (366, "days", True),
        (8760, "hours", False),
        (8761, "hours", True),
        (525600, "minutes", False),
        (525601, "minutes", True),
    ],
)
def test_delays_over_a_year_warn(value: int, unit: str, warns: bool) -> None:
    text = f"name: Good\nsteps:\n{STEP}    delay_value: {value}\n    delay_unit: {unit}\n"
    result = validate_bytes(text.encode(), "a.yaml")
    assert [p.json_path for p in result.problems] == (["$.steps[0].delay_value"] if warns else [])


def test_nul_in_metadata_is_an_error() -> None:
    text = 'name: Good\nmetadata: {"a\\0": "b", c: ["\\0"]}\nsteps:\n' + STEP
    result = validate_bytes(text.encode(), "a.yaml")
    assert [(p.severity, p.json_path) for p in result.problems] == [
        ("error", "$.metadata['a\\u0000']"),
        ("error", "$.metadata.c[0]"),
    ]


@pytest.mark.parametrize(
    ("line", "message", "hint"),
    [
        (
            "name: no",
            "expected a string, got boolean false: YAML reads the unquoted `no` as a boolean",
            'quote the value: "no"',
        ),
        (
            "name: 1.0",
            "expected a string, got the number 1.0: YAML reads the unquoted `1.0` as a number",
            'quote the value: "1.0"',
        ),
        (
            "name:",
            "expected a string, got null (an empty value)",
            "fill in a value (or remove the line if the key is optional)",
        ),
        ("name: [a]", "expected a string, got a list", None),
        (
            "is_active: 'yes'",
            'expected true or false, got the text "yes"',
            "write true or false, without quotes",
        ),
        (
            "tags: onboarding",
            'expected a list, got the text "onboarding"',
            'write a list: [onboarding] or one "- item" per line',
        ),
    ],
)
def test_type_errors_explain_yaml(line: str, message: str, hint: str | None) -> None:
    text = ("name: Good\n" if not line.startswith("name") else "") + line + "\nsteps:\n" + STEP
    result = validate_bytes(text.encode(), "a.yaml")
    (problem,) = result.problems
    assert problem.message == message
    if hint is not None:
        assert problem.hint == hint


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("5 days", "write delay_value: 5 and delay_unit: days"),
        ("2 weeks", "write delay_value: 14 and delay_unit: days (there is no weeks unit)"),
        ("30min", "write delay_value: 30 and delay_unit: minutes"),
        ("soon", "write a whole number without quotes, e.g. 3"),
    ],
)
def test_delay_written_with_a_unit(value: str, hint: str) -> None:
    text = f"name: Good\nsteps:\n{STEP}    delay_value: {value}\n"
    (problem,) = validate_bytes(text.encode(), "a.yaml").problems
    assert problem.hint == hint


def test_yaml11_boolean_warns_once() -> None:
    text = b"name: Good\nis_active: yes\nsteps:\n" + STEP.encode()
    result = validate_bytes(text, "a.yaml")
    assert [(p.severity, p.json_path) for p in result.problems] == [("warning", "$.is_active")]
    assert result.template is not None and result.template.is_active is True


# -- several files -------------------------------------------------------------------------------


def test_keys_unique_across_files(tmp_path: Path) -> None:
    write(tmp_path, "a/onboarding.yaml", "name: First\nsteps:\n" + STEP)
    write(tmp_path, "b.yaml", "key: onboarding\nname: Second\nsteps:\n" + STEP)
    write(tmp_path, "c.yaml", "name: Third\nsteps:\n" + STEP)
    templates, result = load_templates([tmp_path])
    assert [t.key for t in templates] == ["c"]
    first, second = (r for r in result.files if r.key == "onboarding")
    assert first.problems[0].message == (
        f"key `onboarding` (the key taken from its file name) is also the key of "
        f"{tmp_path / 'b.yaml'}:1:6"
    )
    assert first.problems[0].json_path == "$"
    assert second.problems[0].json_path == "$.key"
    assert str(tmp_path / "a" / "onboarding.yaml") in second.problems[0].message
    assert not result.ok() and result.error_count == 2


def test_all_problems_of_all_files(tmp_path: Path) -> None:
    write(tmp_path, "bad.yaml", "name: x\nsteps: []\n")
    write(tmp_path, "broken.yaml", "name: [\n")
    write(tmp_path, "good.yaml", "name: Good\nsteps:\n" + STEP)
    write(tmp_path, "warn.yaml", "name: Good\nis_active: on\nsteps:\n" + STEP)
    templates, result = load_templates([tmp_path])
    assert [t.key for t in templates] == ["good", "warn"]
    assert (result.error_count, result.warning_count, result.files_with_problems) == (3, 1, 3)
    assert not result.ok()


def test_strict_fails_on_warnings(tmp_path: Path) -> None:
    write(tmp_path, "warn.yaml", "name: Good\nis_active: on\nsteps:\n" + STEP)
    result = validate_paths([tmp_path])
    assert result.ok() and not result.ok(strict=True)


def test_missing_path_raises_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        load_templates([tmp_path / "missing"])


def test_empty_directory_is_a_warning(tmp_path: Path) -> None:
    templates, result = load_templates([tmp_path])
    assert templates == [] and result.warning_count == 1 and result.ok()


# -- nothing crashes ---------------------------------------------------------------------------

TOKENS = [
    *"abcn01:- \n\t[]{},'\"&*!|>#%@`?~.\\",
    "name",
    "steps",
    "type",
    "\u00e9",
    "\x00",
    "\ufeff",
    "<<",
    "yes",
    "---",
    "...",
    "  - ",
    "call",
    "{first_name}",
]
YAMLISH = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(YAMLISH.map(lambda s: s.encode("utf-8")), st.binary(max_size=60)))
def test_random_documents_never_crash(data: bytes) -> None:
    result = validate_bytes(data, "random.yaml")
    for problem in result.problems:
        assert problem.line is None or problem.line >= 1
        assert problem.message and problem.json_path.startswith("$")
    assert (result.template is not None) == result.valid


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(
            ["key", "name", "description", "tags", "is_active", "metadata", "steps", "other"]
        ),
        st.recursive(
            st.one_of(
                st.none(),
                st.booleans(),
                st.integers(),
                st.floats(allow_nan=True),
                st.text(max_size=8),
            ),
            lambda inner: st.one_of(
                st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
            ),
            max_leaves=10,
        ),
    )
)
def test_random_structures_never_crash(document: dict[str, object]) -> None:
    import yaml

    data = yaml.safe_dump(document, allow_unicode=True).encode("utf-8")
    result = validate_bytes(data, "random.yaml")
    assert (result.template is not None) == result.valid

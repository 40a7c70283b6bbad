"""The YAML loader: positions of keys and values, and every refusal with a clear problem.

Each test runs with the libyaml parser and with the pure-Python fallback.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from seqctl.errors import UsageError
from seqctl.templates import loader
from seqctl.templates.files import default_key, find_template_files
from seqctl.templates.loader import MAX_DEPTH, MAX_FILE_BYTES, LoadedFile, load_bytes, load_file
from seqctl.templates.problems import member_path, parent_path
from seqctl.templates.spec import Location

TEMPLATE = b"""\
# a comment
key: onboarding
name: Onboarding
steps:
  - name: Intro call
    type: call
    delay_value: 2
  - {name: Email, type: email}
metadata:
  "odd key": [1, {deep: true}]
"""


@pytest.fixture(params=["libyaml", "pure"], autouse=True)
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "libyaml":
        if not yaml.__with_libyaml__:
            pytest.skip("PyYAML built without libyaml")
        monkeypatch.setattr(loader, "LIBYAML", True)
    else:
        monkeypatch.setattr(loader, "LIBYAML", False)
    yield request.param


def only_problem(loaded: LoadedFile) -> tuple[int | None, int | None, str, str]:
    assert len(loaded.problems) == 1, loaded.problems
    problem = loaded.problems[0]
    return problem.line, problem.column, problem.json_path, problem.message


def test_data_and_positions() -> None:
    loaded = load_bytes(TEMPLATE, "t.yaml")
    assert loaded.problems == []
    assert loaded.data == {
        "key": "onboarding",
        "name": "Onboarding",
        "steps": [
            {"name": "Intro call", "type": "call", "delay_value": 2},
            {"name": "Email", "type": "email"},
        ],
        "metadata": {"odd key": [1, {"deep": True}]},
    }
    source = loaded.source
    assert source["$"] == Location("t.yaml", 2, 1)
    assert source["$.name"] == Location("t.yaml", 3, 7)
    assert source["$.steps"] == Location("t.yaml", 5, 3)
    assert source["$.steps[0]"] == Location("t.yaml", 5, 5)
    assert source["$.steps[0].delay_value"] == Location("t.yaml", 7, 18)
    assert source["$.steps[1].type"] == Location("t.yaml", 8, 25)
    assert source["$.metadata['odd key'][1].deep"] == Location("t.yaml", 10, 25)
    assert source.key_location("$.steps[0].delay_value") == Location("t.yaml", 7, 5)
    assert source.key_location("$.name") == Location("t.yaml", 3, 1)


def test_nearest_falls_back_to_the_closest_ancestor() -> None:
    source = load_bytes(TEMPLATE, "t.yaml").source
    assert source.nearest("$.steps[0].priority") == source["$.steps[0]"]
    assert source.nearest("$.nothing.here[3]") == source["$"]
    assert "$.steps[0].name" in source and "$.steps[0].priority" not in source
    assert len(source) == len(list(source))


def test_positions_count_characters_not_bytes() -> None:
    loaded = load_bytes('name: "Café 🍕"\nsteps: [{name: Çà, type: call}]\n'.encode(), "u.yaml")
    assert loaded.source["$.steps[0].type"] == Location("u.yaml", 2, 26)  # bytes: 28


def test_byte_order_mark_is_accepted() -> None:
    loaded = load_bytes(b"\xef\xbb\xbfname: Bom\n", "b.yaml")
    assert loaded.readable and loaded.data == {"name": "Bom"}


@pytest.mark.parametrize(
    ("data", "line", "column", "fragment"),
    [
        (b"name: x\nsteps:\n\t- name: y\n", 3, 1, "'\\t'"),
        (b'name: "abc\n', 2, 1, "end of stream"),
        (b"a:\n  b: 1\n c: 2\n", 3, 2, "block mapping"),
        (b"name: *nothing\n", 1, 7, "undefined alias"),
        (b"name: a: b\n", 1, 8, "mapping values are not allowed"),
    ],
)
def test_syntax_errors_have_positions(data: bytes, line: int, column: int, fragment: str) -> None:
    got_line, got_column, path, message = only_problem(load_bytes(data, "s.yaml"))
    assert (got_line, got_column, path) == (line, column, "$")
    assert fragment in message


def test_tabs_get_a_hint() -> None:
    problem = load_bytes(b"steps:\n\t- name: y\n", "t.yaml").problems[0]
    assert problem.hint and "tabs" in problem.hint


def test_second_document_is_refused() -> None:
    assert only_problem(load_bytes(b"name: a\n---\nname: b\n", "m.yaml"))[:3] == (2, 1, "$")


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty"),
        (b"# only a comment\n", "empty"),
        (b"- a\n", "got a list"),
        (b"just text\n", "got a single value"),
        (b"!!set {a, b}\n", "top level must be a mapping"),
    ],
)
def test_top_level_must_be_a_mapping(data: bytes, fragment: str) -> None:
    assert fragment in only_problem(load_bytes(data, "x.yaml"))[3]


def test_duplicate_keys_name_the_first() -> None:
    line, column, path, message = only_problem(
        load_bytes(b"name: a\nsteps: []\nname: b\n", "d.yaml")
    )
    assert (line, column, path) == (3, 1, "$.name")
    assert "first written at line 1, column 1" in message


def test_non_string_keys() -> None:
    loaded = load_bytes(b"1: a\nyes: b\n? [x]\n: c\n", "k.yaml")
    messages = [p.message for p in loaded.problems]
    assert "as a number" in messages[0] and "as a boolean" in messages[1]
    assert "plain strings" in messages[2]
    assert loaded.data == {}


def test_merge_keys_are_refused_but_aliases_work() -> None:
    loaded = load_bytes(b"a: &x {k: 1}\nb: *x\nc:\n  <<: *x\n", "m.yaml")
    assert loaded.data["b"] == {"k": 1}
    assert only_problem(loaded)[:3] == (4, 3, "$.c")
    assert "merge keys" in loaded.problems[0].message


def test_yaml11_values_are_noted() -> None:
    loaded = load_bytes(
        b"a: yes\nb: Off\nc: 010\nd: 1:30\ne: 0x1F\nf: 1_000.5\ng: true\nh: 7\n", "y.yaml"
    )
    assert loaded.data == {
        "a": True,
        "b": False,
        "c": 8,
        "d": 90,
        "e": 31,
        "f": 1000.5,
        "g": True,
        "h": 7,
    }
    assert sorted(loaded.yaml11) == ["$.a", "$.b", "$.c", "$.d", "$.e", "$.f"]
    assert "as the number 90" in loaded.yaml11["$.d"].message
    assert loaded.plain["$.a"] == "yes" and loaded.plain["$.h"] == "7"
    assert loaded.problems == []


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"a: 2024-01-01\n", "as a date"),
        (b"a: .nan\n", "not a finite number"),
        (b"a: -.inf\n", "not a finite number"),
        (b"a: !!binary aGVsbG8=\n", "unsupported YAML tag"),
        (b"a: !Ref x\n", "unsupported YAML tag `!Ref`"),
        (b"a: !!int abc\n", "not a valid"),
        (b"a: !!float abc\n", "not a valid"),
        (b"a: !!bool maybe\n", "not a valid"),
        (b"a: !!omap [b: 1]\n", "unsupported YAML tag"),
    ],
)
def test_values_json_cannot_hold(data: bytes, fragment: str) -> None:
    line, column, path, message = only_problem(load_bytes(data, "v.yaml"))
    assert (line, column, path) == (1, 4, "$.a")
    assert fragment in message


def test_explicit_tags_that_fit_are_fine() -> None:
    loaded = load_bytes(b'a: !!str 12\nb: !!int "12"\nc: !!float "1.5"\n', "t.yaml")
    assert loaded.problems == [] and loaded.data == {"a": "12", "b": 12, "c": 1.5}


def test_not_utf8() -> None:
    line, column, path, message = only_problem(
        load_bytes("a: 1\nname: caf\xe9\n".encode("latin-1"), "l.yaml")
    )
    assert (line, column, path) == (2, 10, "$") and "not UTF-8" in message and "0xe9" in message


@pytest.mark.parametrize("data", [b"\x00\x01\x02binary", "name: x\n".encode("utf-16-le")])
def test_binary_files(data: bytes) -> None:
    assert "binary" in only_problem(load_bytes(data, "b.yaml"))[3]


def test_control_characters() -> None:
    line, column, _, message = only_problem(load_bytes(b"name: a\x07b\n", "c.yaml"))
    assert (line, column) == (1, 8) and "control character" in message


def test_size_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"name: x\n" + b"# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    assert "MiB" in only_problem(load_file(str(big)))[3]
    assert "MiB" in only_problem(load_bytes(big.read_bytes(), "big.yaml"))[3]


def test_unreadable_and_special_files(tmp_path: Path) -> None:
    assert "not a regular file" in only_problem(load_file(str(tmp_path)))[3]
    assert "cannot read" in only_problem(load_file(str(tmp_path / "missing.yaml")))[3]


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 10_000,
        b"a:\n" + b"".join(b"  " * i + b"- \n" for i in range(200)),
        b"a: &a [*a]\n",
        b"a: " + b"{b: " * (MAX_DEPTH + 5) + b"1" + b"}" * (MAX_DEPTH + 5),
    ],
    ids=["flow", "block", "recursive-alias", "mappings"],
)
def test_deep_nesting(data: bytes) -> None:
    line, column, path, message = only_problem(load_bytes(data, "deep.yaml"))
    assert "nest" in message and line and column


def test_billion_laughs() -> None:
    rows = [b"a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for name, previous in zip("bcdefghi", "abcdefgh", strict=True):
        rows.append(
            f"{name}: &{name} [".encode() + b", ".join([f"*{previous}".encode()] * 10) + b"]"
        )
    message = only_problem(load_bytes(b"\n".join(rows) + b"\n", "lol.yaml"))[3]
    assert "billion laughs" in message


def test_surrogate_escapes_are_refused() -> None:
    loaded = load_bytes(b'name: "\\ud800"\n', "s.yaml")
    assert not loaded.readable or loaded.problems
    assert "surrogate" in loaded.problems[0].message or "escape" in loaded.problems[0].message


# -- paths and files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parent", "key", "path"),
    [
        ("$", "name", "$.name"),
        ("$.a", "odd key", "$.a['odd key']"),
        ("$", "it's", "$['it\\'s']"),
        ("$", "x.y", "$['x.y']"),
        ("$", "ünï", "$['ünï']"),
        ("$", "a\nb", "$['a\\nb']"),
    ],
)
def test_member_paths(parent: str, key: str, path: str) -> None:
    assert member_path(parent, key) == path
    assert parent_path(path) == parent


@pytest.mark.parametrize(
    ("path", "parent"),
    [
        ("$", None),
        ("$.a", "$"),
        ("$.a[3]", "$.a"),
        ("$[0]", "$"),
        ("$.a['b[']", "$.a"),
        ("$['a.b'].c", "$['a.b']"),
    ],
)
def test_parent_paths(path: str, parent: str | None) -> None:
    assert parent_path(path) == parent


def test_find_template_files(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".hidden").mkdir()
    for name in ["a.yaml", "b/c.yml", "b/readme.md", ".hidden/x.yaml", ".dot.yaml"]:
        (tmp_path / name).write_text("name: x\n")
    files, problems = find_template_files([tmp_path, tmp_path / "a.yaml"])
    assert files == [str(tmp_path / "a.yaml"), str(tmp_path / "b" / "c.yml")]
    assert problems == []


def test_find_template_files_warns_about_an_empty_directory(tmp_path: Path) -> None:
    files, problems = find_template_files([tmp_path])
    assert files == [] and problems[0].severity == "warning"


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        find_template_files([tmp_path / "nope"])


@pytest.mark.parametrize(
    ("file", "key"),
    [("sequences/follow-up.yaml", "follow-up"), ("a/b.yml", "b"), ("x.json", "x"), ("x", "x")],
)
def test_default_key(file: str, key: str) -> None:
    assert default_key(file) == key


SCALARS = [
    "",
    "~",
    "null",
    "Null",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "n",
    "true",
    "False",
    "1",
    "-1",
    "+1",
    "0x1F",
    "0o17",
    "017",
    "1_000",
    "1:30",
    "1.5",
    ".5",
    "-.inf",
    ".NaN",
    "1e3",
    "2024-01-02",
    "2024-01-02 10:00:00",
    "<<",
    "=",
    "!x",
    "&a",
    "*a",
    "Hello",
    "Step 1",
    "hi {first_name}",
    "é",
    "_x",
    " ",
    "-",
    ".",
    "0",
    "9a",
    "Ténor",
    "€5",
    "[",
    "{",
]


@pytest.mark.parametrize("text", SCALARS)
def test_the_first_character_shortcut_resolves_as_pyyaml(text: str) -> None:
    """A plain scalar whose first character has no implicit resolver is taken for a string
    without asking PyYAML: the tag is the one PyYAML's safe resolver gives, always."""
    for composer in (loader._CComposer, loader._PyComposer):
        resolver: Any = composer.__new__(composer)
        pyyaml: Any = yaml.resolver.BaseResolver.resolve
        expected = pyyaml(resolver, yaml.ScalarNode, text, (True, False))
        loader._PLAIN_TAGS.clear()
        assert resolver.resolve(yaml.ScalarNode, text, (True, False)) == expected

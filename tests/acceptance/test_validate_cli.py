"""`seqctl validate` and `seqctl schema` through `seqctl.cli.main`, as a user runs them.

No database. The hostile corpus is generated here (never committed): each file must give
exit 1 and a problem line with its position, and never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from seqctl.cli import main

ROOT = Path(__file__).resolve().parents[2]
GOOD = "name: Good template\nsteps:\n  - name: Intro call\n    type: call\n"


@pytest.fixture(autouse=True)
def no_github(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["validate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_valid_files_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "good.yaml", GOOD)
    code, out, err = run(capsys, str(tmp_path))
    assert (code, out, err) == (0, "0 errors, 0 warnings in 1 file\n", "")


def test_default_path_is_sequences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sequences").mkdir()
    write(tmp_path / "sequences", "good.yaml", GOOD)
    assert run(capsys)[:2] == (0, "0 errors, 0 warnings in 1 file\n")


def test_shipped_templates(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert run(capsys, "--strict") == (0, "0 errors, 0 warnings in 3 files\n", "")


def test_errors_exit_1_with_positions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "good.yaml", GOOD)
    bad = write(tmp_path, "bad.yaml", GOOD + "    dleay_value: 2\n")
    code, out, err = run(capsys, str(tmp_path))
    assert code == 1 and err == ""
    assert out.splitlines() == [
        f"{bad}:5:5: error: $.steps[0].dleay_value: unknown key `dleay_value` "
        "(hint: did you mean `delay_value`?)",
        "1 error, 0 warnings in 1 of 2 files",
    ]


def test_warnings_pass_unless_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "warn.yaml", GOOD + "    custom_message: Hi {firstname}\n")
    code, out, _ = run(capsys, str(tmp_path))
    assert code == 0 and "warning: $.steps[0].custom_message" in out
    assert run(capsys, "--strict", str(tmp_path))[0] == 1


def test_missing_path_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(tmp_path / "nope"))
    assert code == 64 and out == ""
    assert "no such file or directory" in err and "hint:" in err


@pytest.mark.parametrize("args", [["--format", "xml"], ["--bogus"]])
def test_bad_options_are_usage_errors(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, *args, str(tmp_path))[0] == 64


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "good.yaml", GOOD)
    write(tmp_path, "bad.yaml", "name: x\nsteps: []\n")
    code, out, _ = run(capsys, "--format", "json", str(tmp_path))
    document = json.loads(out)
    assert code == 1 and document["format_version"] == "1"
    assert document["counts"] == {"files": 2, "files_with_problems": 1, "errors": 2, "warnings": 0}
    assert [f["valid"] for f in document["files"]] == [False, True]
    assert document["files"][1]["digest"].startswith("sha256:")


def test_github_format_is_the_default_on_actions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = write(tmp_path, "bad.yaml", "name: x\nsteps:\n  - {name: Call, type: call}\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, out, _ = run(capsys, str(tmp_path))
    assert code == 1
    assert out.splitlines()[0] == (
        f"::error file={bad},line=1,col=7,title=seqctl validate%3A $.name"
        "::too short: 1 character, at least 3 required (hint: write at least 3 characters)"
    )
    assert run(capsys, "--format", "text", str(tmp_path))[1].startswith(f"{bad}:1:7: error:")


def test_schema_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    on_disk = json.loads((ROOT / "schemas" / "sequence-template.schema.json").read_text())
    assert printed == on_disk


def test_commands_have_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("validate", "schema"):
        assert main([command, "--help"]) == 0
        out = capsys.readouterr().out
        assert "Usage:" in out and len(out.splitlines()) > 5


def test_validate_imports_neither_sqlalchemy_nor_jsonschema() -> None:
    code = (
        "import sys\n"
        "from seqctl.cli import template_commands\n"
        "from seqctl.templates.validate import validate_paths\n"
        "from seqctl.templates.problem_formats import REPORTERS\n"
        f"REPORTERS['json'](validate_paths([{str(ROOT / 'sequences')!r}]))\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'jsonschema')]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# -- hostile corpus -----------------------------------------------------------------------------


def billion_laughs() -> bytes:
    rows = [b"name: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for name, previous in zip("bcdefghij", "abcdefghi", strict=True):
        rows.append(
            f"{name}: &{name} [".encode() + b", ".join([f"*{previous}".encode()] * 9) + b"]"
        )
    return b"\n".join(rows) + b"\nsteps: []\n"


HOSTILE: dict[str, Callable[[], bytes]] = {
    "billion-laughs": billion_laughs,
    "two-megabytes": lambda: b"name: big\n" + b"#" * (2 * 1024 * 1024) + b"\n",
    "binary": lambda: bytes(range(256)) * 8,
    "invalid-utf8": lambda: b"name: caf\xe9 au lait\nsteps: []\n",
    "utf16": lambda: GOOD.encode("utf-16"),
    "deep-flow": lambda: b"name: " + b"[" * 10_000,
    "deep-block": lambda: b"steps:\n" + b"".join(b"  " * i + b"- \n" for i in range(700)),
    "deep-block-one-line": lambda: b"steps:\n" + b"- " * 5_000 + b"x\n",
    "recursive-alias": lambda: b"name: &a [*a]\nsteps: []\n",
    "duplicate-keys": lambda: (GOOD + "name: Again\n").encode(),
    "tabs": lambda: GOOD.replace("    type", "\ttype").encode(),
    "multiple-documents": lambda: (GOOD + "---\n" + GOOD).encode(),
    "anchors-and-merge-keys": lambda: (
        b"name: Merge\nsteps:\n  - &s {name: One call, type: call}\n  - <<: *s\n    name: Two\n"
    ),
    "wrong-types": lambda: b"name: [1, 2]\ntags: yes\nsteps: {type: call}\nis_active: 1\n",
    "ten-thousand-char-name": lambda: (
        "name: " + "n" * 10_000 + "\nsteps:\n  - {name: abc, type: call}\n"
    ).encode(),
    "nul-characters": lambda: b'name: "a\\0b\\x00c"\nsteps:\n  - {name: "\\0\\0\\0", type: call}\n',
    "raw-nul-byte": lambda: b"name: a\x00b\nsteps: []\n",
    "empty": lambda: b"",
    "top-level-scalar": lambda: b"just a string\n",
    "unclosed-flow": lambda: b"name: {a: [1, 2\n",
    "control-character": lambda: b"name: bell\x07\nsteps: []\n",
    "alias-fanout": lambda: b"a: &a " + b"x" * 100_000 + b"\nname: [" + b"*a, " * 150_000 + b"]\n",
    "unknown-tags": lambda: b"name: !!python/object:os.system ls\nsteps: !!set {a}\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_corpus(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, f"{name}.yaml", HOSTILE[name]())
    code, out, err = run(capsys, str(path))
    assert code == 1, out
    assert err == "" and "Traceback" not in out and "internal error" not in out
    first = out.splitlines()[0]
    assert first.startswith(f"{path}:") and ": error: $" in first
    line, column = first[len(str(path)) + 1 :].split(":")[:2]
    assert int(line) >= 1 and int(column) >= 1


def test_hostile_corpus_in_one_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, make in HOSTILE.items():
        write(tmp_path, f"{name}.yaml", make())
    write(tmp_path, "good.yaml", GOOD)
    code, out, _ = run(capsys, str(tmp_path))
    assert code == 1
    files_with_errors = {line.split(":")[0] for line in out.splitlines()[:-1]}
    assert len(files_with_errors) == len(HOSTILE)
    assert out.splitlines()[-1].endswith(f"in {len(HOSTILE)} of {len(HOSTILE) + 1} files")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_not_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    code, out, _ = run(capsys, str(fifo))
    assert code == 1 and "not a regular file" in out

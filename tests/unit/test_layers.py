"""The layers of seqctl import one way: cli → sync/runtime → templates/db → top-level helpers.

Read from the source (AST), so an import inside a function counts as much as one at the top.
The allowed directions are the docstrings of the subpackages' ``__init__.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LIBRARY = Path(__file__).resolve().parents[2] / "seqctl"
LAYERS = ("cli", "sync", "runtime", "templates", "db")
# what each layer may import besides itself and the top-level helpers ("top")
ALLOWED: dict[str, set[str]] = {
    "cli": {"sync", "runtime", "templates", "db"},
    "sync": {"templates", "db"},
    "runtime": {"templates", "db"},
    "templates": set(),
    "db": set(),
    "top": set(),
}
ENTRY_POINTS = {"seqctl.__main__"}  # `python -m seqctl` runs the CLI


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "top"


def module_name(path: Path) -> tuple[str, list[str]]:
    parts = ["seqctl", *path.relative_to(LIBRARY).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
        return ".".join(parts), parts
    return ".".join(parts), parts[:-1]


def imports_of(path: Path) -> list[tuple[int, str]]:
    name, package = module_name(path)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("seqctl")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("seqctl"):
                continue
            if node.module is None:  # from . import a, b: each name may be a module
                found += [(node.lineno, f"{target}.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, target))
    return found


def violations() -> list[str]:
    wrong = []
    for path in sorted(LIBRARY.rglob("*.py")):
        name, _ = module_name(path)
        if name in ENTRY_POINTS:
            continue
        own = layer(name)
        for line, target in imports_of(path):
            other = layer(target)
            if other == own or other == "top" and own != "top":
                continue
            if target in ("seqctl", "seqctl.__init__"):  # __version__
                continue
            if other not in ALLOWED[own]:
                wrong.append(f"{path.relative_to(LIBRARY.parent)}:{line}: {own} imports {target}")
    return wrong


def test_imports_run_one_way() -> None:
    assert violations() == []


def test_the_check_sees_a_wrong_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "seqctl"
    (fake / "db").mkdir(parents=True)
    (fake / "runtime").mkdir()
    (fake / "db" / "x.py").write_text("from ..runtime import status\n")
    (fake / "errors.py").write_text("from .db import tables\n")
    monkeypatch.setattr(__name__ + ".LIBRARY", fake)
    assert violations() == [
        "seqctl/db/x.py:1: db imports seqctl.runtime",
        "seqctl/errors.py:1: top imports seqctl.db",
    ]


def test_every_layer_says_what_it_may_import() -> None:
    for name in LAYERS:
        doc = ast.get_docstring(ast.parse((LIBRARY / name / "__init__.py").read_text()))
        assert doc and "import" in doc, name

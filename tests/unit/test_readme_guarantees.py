"""The README's "Guarantees" name real tests: every `file.py::test_name` (and every `::name`
continuing the last file named) must be a test function in that file."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _guarantees() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Guarantees")
    return text[start : text.index("\n## ", start + 1)]


def _references(section: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    current = ""
    for match in re.finditer(r"`([\w/]+\.py)?(?:::(\w+))?[`\[]", section):
        path, name = match.groups()
        if path:
            current = path
        if name:
            found.append((current, name))
    return found


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    }


def test_every_guarantee_names_an_existing_test() -> None:
    references = _references(_guarantees())
    assert len(references) > 40
    missing = []
    for path, name in references:
        file = ROOT / "tests" / path
        if not file.is_file() or name not in _tests_in(file):
            missing.append(f"{path}::{name}")
    assert not missing, missing

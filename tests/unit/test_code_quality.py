"""The codebase's own rules: lint, types, and no printing from the library."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import ROOT

LIBRARY = ROOT / "seqctl"


def library_modules() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in LIBRARY.rglob("*.py") if "cli" not in p.parts)


@pytest.mark.parametrize("module", library_modules())
def test_library_does_not_print(module: str) -> None:
    """Only the CLI writes to the terminal; the library returns results and raises errors."""
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    calls = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("print", "input")
    ]
    assert calls == [], f"{module}: print()/input() on lines {calls}; return data instead"


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


def test_ruff() -> None:
    targets = ["seqctl", "tests", "bench", "migrations"]
    lint = subprocess.run(
        [_tool("ruff"), "check", *targets], cwd=ROOT, capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout
    form = subprocess.run(
        [_tool("ruff"), "format", "--check", *targets], cwd=ROOT, capture_output=True, text=True
    )
    assert form.returncode == 0, form.stdout


def test_mypy_strict() -> None:
    result = subprocess.run([_tool("mypy")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout


def test_one_did_you_mean_matcher() -> None:
    """Every "did you mean" hint comes from ``seqctl.suggest.close_matches`` (one matcher,
    two named cutoffs), not from a wrapper of difflib of its own."""
    users = sorted(
        str(p.relative_to(ROOT))
        for p in LIBRARY.rglob("*.py")
        if "get_close_matches" in p.read_text(encoding="utf-8")
    )
    assert users == ["seqctl/suggest.py"]

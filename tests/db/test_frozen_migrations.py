"""Migrations are frozen: no revision imports seqctl's code, which may change after release.

Revision 001 carries the CRM objects' SQL inline; it must stay what seqctl's current
definitions (``seqctl.db.preexisting``) would create, or one of them changed without a new
revision.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from types import ModuleType

from seqctl.db import preexisting
from seqctl.resources import migrations_dir

VERSIONS = Path(migrations_dir()) / "versions"


def revision(file: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"revision_{Path(file).stem}", VERSIONS / file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_revision_imports_seqctl() -> None:
    for path in sorted(VERSIONS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not [n for n in names if n.split(".")[0] == "seqctl"], path.name


def test_revision_001_inlines_the_current_crm_objects_sql() -> None:
    first = revision("001_create_sequence_templates.py")
    assert first.PREEXISTING_SQL == preexisting.PREEXISTING_SQL
    assert first.DROP_UUID_FUNCTION_SQL == preexisting.DROP_UUID_FUNCTION_SQL

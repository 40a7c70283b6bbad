"""Migrations are frozen: no revision imports seqctl's code, which may change after release.

Revision 001 carries the CRM objects' SQL inline: it is the one copy of that SQL (the tests
that need the objects run it from there, see ``tests/db/revisions.py``).
"""

from __future__ import annotations

import ast

from .revisions import FIRST, UUID_FUNCTION_MARK, VERSIONS


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


def test_revision_001_marks_the_uuid_function_it_creates_and_drops_only_that() -> None:
    assert f"IS '{UUID_FUNCTION_MARK}'" in FIRST.PREEXISTING_SQL
    assert f"'{UUID_FUNCTION_MARK}'" in FIRST.DROP_UUID_FUNCTION_SQL

"""Exported files' `$schema` comment points at the project's schema wherever --out is, and
exporting again over the same content reports the files unchanged (spec §8)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ..conftest import ROOT, Result
from ..db.sequences_helpers import S, make_template

Cli = Callable[..., Result]


@pytest.mark.parametrize(
    ("out", "expected"),
    [
        ("sequences", "../schemas/sequence-template.schema.json"),
        ("teams/ops/sequences", "../../../schemas/sequence-template.schema.json"),
    ],
)
def test_schema_comment_and_unchanged_again(
    database_url: str,
    engine: Engine,
    demo_org: str,
    cli: Cli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    out: str,
    expected: str,
) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "schemas").mkdir()
    shutil.copy(ROOT / "schemas" / "sequence-template.schema.json", project / "schemas")
    monkeypatch.chdir(project)
    make_template(engine, demo_org, "Web Onboarding", [S("Call"), S("Mail", 2)])
    first = cli("--database-url", database_url, "export", "--out", out)
    assert first.exit_code == 0, first.stderr
    [written] = list((project / out).glob("*.yaml"))
    comment = written.read_text().splitlines()[0]
    assert comment == f"# yaml-language-server: $schema={expected}"
    assert (written.parent / expected).resolve().is_file()
    again = cli("--database-url", database_url, "export", "--out", out)
    assert again.exit_code == 0, again.stderr
    assert "unchanged" in again.stdout + again.stderr

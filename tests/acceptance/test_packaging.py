"""A non-editable install works from any directory: migrations and schemas ship in the wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ..conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("hatchling", reason="hatchling (the build backend) is not installed")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return next(out.glob("seqctl-*.whl"))


def test_wheel_carries_migrations_and_schemas(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for revision in (
        "001_create_sequence_templates",
        "002_create_sequence_steps",
        "003_create_sequence_instances",
        "004_alter_tasks_add_sequence_columns",
        "005_add_subject_line_demo_meeting_to_sequence_steps",
    ):
        assert f"seqctl/_data/migrations/versions/{revision}.py" in names
    assert "seqctl/_data/migrations/env.py" in names
    assert "seqctl/_data/migrations/script.py.mako" in names
    assert "seqctl/_data/schemas/sequence-template.schema.json" in names


def test_installed_wheel_runs_from_another_directory(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import seqctl.resources as r; print(r.migrations_dir()); print(r.schemas_dir())",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.splitlines() == [
        str(site / "seqctl" / "_data" / "migrations"),
        str(site / "seqctl" / "_data" / "schemas"),
    ]
    sql = subprocess.run(
        [sys.executable, "-m", "seqctl", "db", "sql"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert sql.returncode == 0, sql.stderr
    assert "CREATE TABLE IF NOT EXISTS public.sequence_instances" in sql.stdout

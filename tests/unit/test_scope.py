"""The scope of a sync and the project root (spec §6, §7): pure path logic."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from seqctl.config import find_project_root, project_path, project_root
from seqctl.sync.scope import Scope, scope_of, stored_source


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "sequences" / "team").mkdir(parents=True)
    (root / "sequences" / "team" / "a.yaml").write_text("")
    return root


@pytest.mark.parametrize("marker", ["seqctl.toml", ".seqctl", ".git"])
def test_project_root_is_the_nearest_marked_directory(tmp_path: Path, marker: str) -> None:
    root = tmp_path / "repo"
    (root / "deep" / "er").mkdir(parents=True)
    if marker == "seqctl.toml":
        (root / marker).write_text("")
    else:
        (root / marker).mkdir()
    assert find_project_root(root / "deep" / "er") == root
    assert project_root(root / "deep" / "er") == root
    assert find_project_root(tmp_path) is None
    assert project_root(tmp_path) == tmp_path  # no marker: the working directory


def test_project_path_is_the_same_from_any_working_directory(project: Path) -> None:
    expected = "sequences/team/a.yaml"
    for cwd in (project, project / "sequences", project / "sequences" / "team", project.parent):
        os.chdir(cwd)
        relative = os.path.relpath(project / "sequences" / "team" / "a.yaml")
        assert project_path(relative) == expected, cwd
        assert project_path(project / "sequences" / "team" / "a.yaml") == expected
    os.chdir(project / "sequences")
    assert project_path(".") == "sequences"
    assert project_path("..") == "."


def test_scope_contains_what_lies_under_its_paths() -> None:
    scope = Scope(directories=("sequences",), files=("drafts/new.yaml", "drafts/odd.txt"))
    assert scope.contains("sequences/a.yaml") and scope.contains("sequences/x/y.yml")
    assert scope.contains("drafts/new.yaml") and scope.contains("drafts/odd.txt")
    assert not scope.contains("sequences-old/a.yaml")
    assert not scope.contains("drafts/other.yaml") and not scope.contains("drafts/new.yaml.bak")
    assert not scope.contains(None)
    # a directory covers what a search of it finds: no hidden directories, template files
    assert not scope.contains("sequences/.drafts/a.yaml")
    assert not scope.contains("sequences/notes.txt")
    everything = Scope(directories=(".",))
    assert everything.contains("a.yaml") and everything.contains("x/y/z.yaml")
    assert not everything.contains("../elsewhere/a.yaml")
    assert not everything.contains("/abs/a.yaml")


def test_scope_of_paths_given_on_the_command_line(project: Path) -> None:
    os.chdir(project / "sequences")
    scope = scope_of([Path("team"), Path("team/a.yaml"), Path(".")])
    assert scope.directories == ("sequences", "sequences/team")
    assert scope.files == ("sequences/team/a.yaml",)


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("sequences/a.yaml", "sequences/a.yaml"),
        ("./sequences/a.yaml", "sequences/a.yaml"),
        ("sequences\\a.yaml", "sequences/a.yaml"),
        ("sequences//x/../a.yaml", "sequences/a.yaml"),
        ("{root}/sequences/a.yaml", "sequences/a.yaml"),
        ("", None),
        (None, None),
        (42, None),
    ],
)
def test_stored_sources_of_older_versions_are_normalised(
    project: Path, stored: object, expected: str | None
) -> None:
    os.chdir(project)
    if isinstance(stored, str):
        stored = stored.format(root=project.as_posix())
    assert stored_source(stored) == expected

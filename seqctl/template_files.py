"""Finding template files: the ``*.yaml`` and ``*.yml`` files of the paths given.

A directory is searched recursively, in sorted order, skipping hidden files and directories
(``.git``, ``.seqctl`` …) and not following symbolic links to directories. A file named
explicitly is taken whatever its extension. A path reached twice (``sequences/`` and
``sequences/a.yaml``) is read once. ``variables.yaml`` holds declared variables
(``seqctl.declared``), never a template.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from .errors import UsageError
from .problems import WARNING, Problem

TEMPLATE_SUFFIXES = (".yaml", ".yml")
DEFAULT_PATH = "sequences"
DECLARED_FILE = "variables.yaml"  # declared variables (seqctl.declared), never a template


def find_template_files(
    paths: Iterable[str | os.PathLike[str]],
) -> tuple[list[str], list[Problem]]:
    """The template files under ``paths`` (as display paths), and a warning for each
    directory that holds none.

    Raises :class:`~seqctl.errors.UsageError` for a path that does not exist: that is a
    wrong argument, not a bad template file.
    """
    files: list[str] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for raw in paths:
        path = os.fspath(raw)
        if not os.path.exists(path):
            raise UsageError(
                f"{path}: no such file or directory",
                hint="pass the directory of your templates (default: sequences/) or "
                "template files; run from the repository root",
            )
        found = _walk(path) if os.path.isdir(path) else [os.path.normpath(path)]
        found = [f for f in found if os.path.basename(f) != DECLARED_FILE]
        if not found:
            problems.append(
                Problem(
                    WARNING,
                    os.path.normpath(path),
                    None,
                    None,
                    "",
                    "no template files (*.yaml, *.yml) in this directory",
                )
            )
        for file in found:
            absolute = os.path.abspath(file)  # a file named twice is read once
            if absolute not in seen:
                seen.add(absolute)
                files.append(file)
    return files, problems


def _walk(top: str) -> list[str]:
    top = os.path.normpath(top)
    found: list[str] = []
    for directory, subdirectories, names in os.walk(top):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
        for name in names:
            if name.endswith(TEMPLATE_SUFFIXES) and not name.startswith("."):
                found.append(os.path.join(directory, name))
    found.sort()
    return found


def default_key(file: str) -> str:
    """The key a file has when it gives none: its name without the extension."""
    base = os.path.basename(file)
    for suffix in TEMPLATE_SUFFIXES:
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return os.path.splitext(base)[0]

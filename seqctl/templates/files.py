"""Finding template files: the ``*.yaml`` and ``*.yml`` files of the paths given.

A directory is searched recursively, in sorted order, skipping hidden files and directories
(``.git``, ``.seqctl`` …). Symbolic links to directories are followed; a directory reached a
second time (a link cycle, or two links to one place) is searched once and the link is
warned about. A directory or path that cannot be read is an error, never skipped: a missing
template would otherwise look like a removed one and be deactivated or pruned. A file named
explicitly is taken whatever its extension. A path reached twice (``sequences/`` and
``sequences/a.yaml``) is read once. ``variables.yaml`` holds declared variables
(``seqctl.templates.declared``), never a template.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable

from ..errors import UsageError
from .problems import ERROR, WARNING, Problem

TEMPLATE_SUFFIXES = (".yaml", ".yml")
DEFAULT_PATH = "sequences"
DECLARED_FILE = "variables.yaml"  # declared variables (seqctl.templates.declared), never a template


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
    searched: set[tuple[int, int]] = set()  # (device, inode) of every directory searched
    for raw in paths:
        path = os.fspath(raw)
        try:
            info = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            raise UsageError(
                f"{path}: no such file or directory",
                hint="pass the directory of your templates (default: sequences/) or "
                "template files; run from the repository root",
            ) from None
        except OSError as error:
            problems.append(_unreadable(os.path.normpath(path), error))
            continue
        known = len(problems)
        if stat.S_ISDIR(info.st_mode):
            found = _walk(path, searched, problems)
        else:
            found = [os.path.normpath(path)]
        found = [f for f in found if os.path.basename(f) != DECLARED_FILE]
        if not found and not any(p.severity == ERROR for p in problems[known:]):
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


def _unreadable(path: str, error: OSError) -> Problem:
    return Problem(
        ERROR,
        path,
        None,
        None,
        "",
        f"cannot read this {'directory' if os.path.isdir(path) else 'path'}: "
        f"{error.strerror or error}",
        "give the user running seqctl read access to it, or leave it out of the PATH "
        "arguments; nothing was changed",
    )


def _walk(top: str, searched: set[tuple[int, int]], problems: list[Problem]) -> list[str]:
    """The template files under ``top``, depth first in name order, following links."""
    found: list[str] = []
    pending = [os.path.normpath(top)]
    while pending:
        directory = pending.pop()
        try:
            info = os.stat(directory)
            identity = (info.st_dev, info.st_ino)
            if identity in searched:
                problems.append(
                    Problem(
                        WARNING,
                        directory,
                        None,
                        None,
                        "",
                        f"symbolic link to a directory already searched "
                        f"({os.path.realpath(directory)}); its files are read once",
                        "remove the link if it is not needed",
                    )
                )
                continue
            searched.add(identity)
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as error:
            problems.append(_unreadable(directory, error))
            continue
        subdirectories = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = os.path.join(directory, entry.name)
            if entry.is_dir():  # also a symbolic link to a directory
                subdirectories.append(path)
            elif entry.name.endswith(TEMPLATE_SUFFIXES):
                found.append(path)
        pending.extend(reversed(subdirectories))
    found.sort()
    return found


def default_key(file: str) -> str:
    """The key a file has when it gives none: its name without the extension."""
    base = os.path.basename(file)
    for suffix in TEMPLATE_SUFFIXES:
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return os.path.splitext(base)[0]

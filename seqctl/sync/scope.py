"""The scope of a sync (spec §7): which managed templates ``plan``/``sync PATH…`` may touch.

A managed template is in scope when its ``metadata.seqctl.source`` lies under one of the
PATHs (a file is its own scope; a directory covers the files a search of it finds: template
files, not in hidden directories). Templates with a file among the PATHs are synced whatever
their stored source; the others in scope are deactivated or pruned; the rest are left alone
and counted. Sources and PATHs are compared in one form: relative to the project root with
'/' separators (:func:`seqctl.config.project_path`).

Sources stored by older versions of seqctl (relative to the working directory of that sync,
absolute, ``./``-prefixed or with '\\' separators) are normalised before they are compared,
so they keep working; such a row gets the new form with its next content change.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..config import project_path
from ..templates.files import TEMPLATE_SUFFIXES

_WINDOWS_ABSOLUTE = re.compile(r"^[A-Za-z]:/")


@dataclass(frozen=True)
class Scope:
    """The PATHs of a sync as project paths ("." is the whole project): directories, which
    cover what a search of them finds (template files, not below hidden directories), and
    files, each its own scope."""

    directories: tuple[str, ...] = ()
    files: tuple[str, ...] = ()

    def contains(self, source: str | None) -> bool:
        if source is None:
            return False
        if source in self.files:
            return True
        for directory in self.directories:
            if directory == ".":
                rest = source
                if source.startswith("/") or source == ".." or source.startswith("../"):
                    continue
            elif source.startswith(directory.rstrip("/") + "/"):
                rest = source[len(directory.rstrip("/")) + 1 :]
            else:
                continue
            if rest.endswith(TEMPLATE_SUFFIXES) and not any(
                part.startswith(".") for part in rest.split("/")
            ):
                return True
        return False


def scope_of(paths: Iterable[str | os.PathLike[str]]) -> Scope:
    """The scope of a sync of ``paths`` (files or directories, as given on the command line)."""
    directories: set[str] = set()
    files: set[str] = set()
    for path in paths:
        (directories if os.path.isdir(path) else files).add(project_path(path))
    return Scope(tuple(sorted(directories)), tuple(sorted(files)))


def stored_source(value: Any) -> str | None:
    """A ``metadata.seqctl.source`` as stored by any version of seqctl, in today's form."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.replace("\\", "/")
    if text.startswith("/") or _WINDOWS_ABSOLUTE.match(text):
        return project_path(text)
    return posixpath.normpath(text)

"""The scope of a sync (spec §7): which managed templates ``plan``/``sync PATH…`` may touch.

A managed template is in scope when its ``metadata.seqctl.source`` lies under one of the
PATHs (a file is its own scope). Templates with a file among the PATHs are synced whatever
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

from .config import project_path

_WINDOWS_ABSOLUTE = re.compile(r"^[A-Za-z]:/")


@dataclass(frozen=True)
class Scope:
    """The PATHs of a sync, each as a project path ("." is the whole project)."""

    paths: tuple[str, ...]

    def contains(self, source: str | None) -> bool:
        if source is None:
            return False
        for path in self.paths:
            if path == "." and not source.startswith(("../", "/")) and source != "..":
                return True
            if source == path or source.startswith(path.rstrip("/") + "/"):
                return True
        return False


def scope_of(paths: Iterable[str | os.PathLike[str]]) -> Scope:
    """The scope of a sync of ``paths`` (files or directories, as given on the command line)."""
    return Scope(tuple(sorted({project_path(p) for p in paths})))


def stored_source(value: Any) -> str | None:
    """A ``metadata.seqctl.source`` as stored by any version of seqctl, in today's form."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.replace("\\", "/")
    if text.startswith("/") or _WINDOWS_ABSOLUTE.match(text):
        return project_path(text)
    return posixpath.normpath(text)

""" "Did you mean …?" hints for names that matched nothing."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(ref: str, names: Iterable[str], otherwise: str, *, cutoff: float = 0.5) -> str:
    """A hint naming up to three close matches of ``ref``, else ``otherwise``."""
    close = difflib.get_close_matches(ref, list(names), n=3, cutoff=cutoff)
    return "did you mean " + " or ".join(map(repr, close)) + "?" if close else otherwise

""" "Did you mean …?" hints for names that matched nothing."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable

_APOSTROPHES = str.maketrans("", "", "'’`‘")
_SPECIAL = str.maketrans({"ł": "l", "ø": "o", "ß": "ss", "æ": "ae", "œ": "oe"})


def fold(name: str) -> str:
    """``name`` as compared for hints and searches: case, accents and apostrophes ignored
    (``"Luigis trattoria"`` and ``"Luigi's Trattoria"`` fold alike, as do ``Fogon``/``Fogón``)."""
    decomposed = unicodedata.normalize("NFKD", name.casefold().translate(_SPECIAL))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return plain.translate(_APOSTROPHES)


def did_you_mean(ref: str, names: Iterable[str], otherwise: str, *, cutoff: float = 0.5) -> str:
    """A hint naming up to three close matches of ``ref``, else ``otherwise`` (names are
    compared with case, accents and apostrophes ignored)."""
    by_fold: dict[str, str] = {}
    for name in names:
        by_fold.setdefault(fold(name), name)
    close = difflib.get_close_matches(fold(ref), list(by_fold), n=3, cutoff=cutoff)
    return (
        "did you mean " + " or ".join(repr(by_fold[c]) for c in close) + "?" if close else otherwise
    )

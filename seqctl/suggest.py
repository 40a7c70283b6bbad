""" "Did you mean …?" hints for names that matched nothing."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Callable, Iterable

_APOSTROPHES = str.maketrans("", "", "'’`‘")
_SPECIAL = str.maketrans({"ł": "l", "ø": "o", "ß": "ss", "æ": "ae", "œ": "oe"})


def fold(name: str) -> str:
    """``name`` as compared for hints and searches: case, accents and apostrophes ignored
    (``"Luigis trattoria"`` and ``"Luigi's Trattoria"`` fold alike, as do ``Fogon``/``Fogón``)."""
    decomposed = unicodedata.normalize("NFKD", name.casefold().translate(_SPECIAL))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return plain.translate(_APOSTROPHES)


NAME_CUTOFF = 0.5
"""How alike a hint must be to a name people gave (a restaurant, an organisation)."""
KEY_CUTOFF = 0.6
"""How alike a hint must be to a word of seqctl's (a key, an option, a variable, a reference)."""


def _same(name: str) -> str:
    return name


def close_matches(
    word: str,
    names: Iterable[str],
    *,
    most: int = 3,
    cutoff: float = KEY_CUTOFF,
    key: Callable[[str], str] = _same,
) -> list[str]:
    """Up to ``most`` of ``names`` close to ``word``, best first: the one matcher behind every
    "did you mean" of seqctl. ``key`` is how both sides are compared (e.g. :func:`fold`,
    ``str.lower``); of names that compare alike, the first is given."""
    by_key: dict[str, str] = {}
    for name in names:
        by_key.setdefault(key(name), name)
    close = difflib.get_close_matches(key(word), list(by_key), n=most, cutoff=cutoff)
    return [by_key[c] for c in close]


def did_you_mean(
    ref: str, names: Iterable[str], otherwise: str, *, cutoff: float = NAME_CUTOFF
) -> str:
    """A hint naming up to three close matches of ``ref``, else ``otherwise`` (names are
    compared with case, accents and apostrophes ignored)."""
    close = close_matches(ref, names, cutoff=cutoff, key=fold)
    return "did you mean " + " or ".join(map(repr, close)) + "?" if close else otherwise

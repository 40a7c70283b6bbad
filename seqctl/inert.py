"""Making text inert for a terminal: control characters shown escaped, never sent raw.

Names, messages and paths come from the database, the web app and the file system; any of
them may hold ESC, CR, OSC or CSI sequences that would rewrite a terminal or forge output
lines. :func:`inert` is for one field (every control character escaped, newlines included);
:func:`inert_text` is for a whole rendered output (its own line breaks and tabs kept). The
escapes are ``\\x1b``-style below U+007F and ``\\u009b``-style above, so text that is JSON
stays JSON with the same meaning.
"""

from __future__ import annotations

import re

# C1, DEL, line/paragraph separators and the bidirectional controls ("Trojan Source")
_HIGH = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_FIELD = re.compile(f"[\x00-\x1f{_HIGH}]")
_LINE_SAFE = re.compile(f"[\x00-\x08\x0b-\x1f{_HIGH}]")  # keeps TAB and LF
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x7F else f"\\u{code:04x}"


def inert(value: object) -> str:
    """One field as inert text: every control character (LF and TAB too) escaped."""
    return _FIELD.sub(_escape, str(value))


def inert_text(text: str, *, keep_colour: bool = False) -> str:
    """A rendered output as inert text: its line breaks and tabs kept, all else escaped.

    With ``keep_colour``, SGR colour sequences (``ESC [ … m``) that seqctl itself painted
    are kept; renderers that paint escape their data with :func:`inert` first.
    """
    if not keep_colour:
        return _LINE_SAFE.sub(_escape, text)
    pieces = []
    last = 0
    for match in _SGR.finditer(text):
        pieces.append(_LINE_SAFE.sub(_escape, text[last : match.start()]))
        pieces.append(match.group(0))
        last = match.end()
    pieces.append(_LINE_SAFE.sub(_escape, text[last:]))
    return "".join(pieces)

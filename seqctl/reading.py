"""Reading a user's input file safely: bounded in size, UTF-8 only, no NUL.

``/dev/zero``, a FIFO that never ends or a file that is not text fails with a one-line
error (exit 1) instead of filling memory or reaching the database as garbage.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .errors import InvalidInput, UsageError
from .inert import inert

MAX_INPUT_BYTES = 16 * 1024 * 1024


def read_text(path: Path, what: str, *, limit: int = MAX_INPUT_BYTES) -> str:
    """The file's text (``-``: standard input); ``what`` names it in errors, e.g. an option."""
    where = f"{what} {inert(path)}"
    try:
        if str(path) == "-":
            stdin = getattr(sys.stdin, "buffer", None)
            data = (
                stdin.read(limit + 1)
                if stdin is not None
                else sys.stdin.read(limit + 1).encode("utf-8", "surrogateescape")
            )
        else:
            with open(path, "rb") as stream:
                data = stream.read(limit + 1)
    except IsADirectoryError:
        raise UsageError(f"{where} is a directory, not a file") from None
    except OSError as error:
        raise UsageError(f"cannot read {where}: {error.strerror}") from None
    if len(data) > limit:
        raise InvalidInput(
            f"{where} is larger than {limit // (1024 * 1024)} MB",
            hint="split it into smaller files",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InvalidInput(
            f"{where}:{line}: not UTF-8 text (byte {data[error.start]:#04x})",
            hint="save the file as UTF-8",
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InvalidInput(f"{where}:{line}: contains a NUL character", hint="is it a text file?")
    return text

"""The commands of seqctl and the example command lines of their ``--help`` (spec §8).

An example is a line of the rendered help that starts with ``seqctl `` (indented, on its
own); a trailing ``  # comment`` is not part of it.
"""

from __future__ import annotations

import contextlib
import io
import re
from functools import cache
from typing import Any

COMMENT = re.compile(r"\s{2,}#\s.*$")


def command_paths() -> list[tuple[str, ...]]:
    """Every command and group of the app (the app itself is ``()``), hidden ones left out."""
    from typer.main import get_command

    from seqctl.cli import app
    from seqctl.cli import commands as _commands  # noqa: F401  (registers the commands)

    paths: list[tuple[str, ...]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        if getattr(command, "hidden", False):
            return
        paths.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, (*path, name))

    walk(get_command(app), ())
    return paths


@cache
def help_text(path: tuple[str, ...]) -> str:
    """``seqctl PATH… --help`` as printed (through the real entry point)."""
    from seqctl.cli import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(io.StringIO()):
        code = main([*path, "--help"])
    assert code == 0, (path, code)
    return buffer.getvalue()


def examples(path: tuple[str, ...]) -> list[str]:
    """The example command lines of one command's help."""
    found = []
    for line in help_text(path).splitlines():
        line = COMMENT.sub("", line.strip())
        if line.startswith("seqctl "):
            found.append(line)
    return found


def all_examples() -> list[str]:
    """Every distinct example of every command's help, in the order of the commands."""
    seen: dict[str, None] = {}
    for path in command_paths():
        for example in examples(path):
            seen.setdefault(example, None)
    return list(seen)

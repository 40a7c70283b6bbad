"""Reading template files: YAML in, JSON-compatible data plus the position of every value.

The loader parses with libyaml (``yaml.CSafeLoader``) when PyYAML was built with it, else
with the pure-Python parser; ``seqctl.templates.yaml_tree`` turns the node tree into plain JSON data
and a :class:`SourceMap` (JSON path → file:line:col). It refuses, with a
:class:`~seqctl.templates.problems.Problem` each and never an exception: files over
:data:`MAX_FILE_BYTES`, binary or non-UTF-8 files, YAML syntax errors (with their
position), several documents, a top level that is not a mapping, and — through
``yaml_tree`` — duplicate keys, merge keys, unsupported tags, deep nesting and alias bombs.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Container
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..vocabulary import MAX_STEPS
from .problems import ERROR, Problem
from .yaml_tree import (
    MAP,
    MAX_DEPTH,
    MAX_VALUES,
    SEQ,
    STR,
    LoadedFile,
    SourceMap,
    Yaml11Note,
    convert,
)

__all__ = [
    "LIBYAML",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_VALUES",
    "LoadedFile",
    "SourceMap",
    "Yaml11Note",
    "load_bytes",
    "load_file",
]

MAX_FILE_BYTES = 1024 * 1024

LIBYAML: bool = bool(getattr(yaml, "__with_libyaml__", False))

# -- reading ----------------------------------------------------------------------------


def load_file(file: str) -> LoadedFile:
    """Read and parse one template file; problems are collected, never raised."""
    try:
        info = os.stat(file)
        if not stat.S_ISREG(info.st_mode):
            return _fail(file, "not a regular file", "pass template files or directories")
        if info.st_size > MAX_FILE_BYTES:
            return _too_big(file, info.st_size)
        with open(file, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        return _fail(file, f"cannot read the file: {error.strerror or error}", None)
    if len(data) > MAX_FILE_BYTES:
        return _too_big(file, len(data))
    return load_bytes(data, file)


def load_bytes(data: bytes, file: str = "<string>") -> LoadedFile:
    """Parse the bytes of one template file (see :func:`load_file`)."""
    if len(data) > MAX_FILE_BYTES:
        return _too_big(file, len(data))
    if b"\x00" in data[:8192]:
        return _fail(
            file,
            "this looks like a binary file (it contains NUL bytes), not a YAML template",
            "template files are UTF-8 text; UTF-16 files must be re-saved as UTF-8",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = _byte_position(data, error.start)
        loaded = LoadedFile(file, SourceMap(file))
        loaded.problems.append(
            Problem(
                ERROR,
                file,
                line,
                column,
                "$",
                f"the file is not UTF-8: invalid byte 0x{data[error.start]:02x}",
                "save the file with UTF-8 encoding",
            )
        )
        return loaded
    return _load_text(data, text, file)


def _load_text(data: bytes, text: str, file: str) -> LoadedFile:
    loaded = LoadedFile(file, SourceMap(file))
    try:
        root = _compose(data, text)
    except yaml.MarkedYAMLError as error:
        loaded.problems.append(_syntax_problem(error, text, file))
        return loaded
    except yaml.reader.ReaderError as error:
        line, column = (
            _byte_position(data, error.position)
            if LIBYAML
            else _char_position(text, error.position)
        )
        character = chr(error.character) if isinstance(error.character, int) else error.character
        loaded.problems.append(
            Problem(
                ERROR,
                file,
                line,
                column,
                "$",
                f"YAML syntax: control character {character!r} is not allowed",
                'remove it; write special characters as escapes in double quotes, e.g. "\\t"',
            )
        )
        return loaded
    except RecursionError:
        return _fail(file, f"YAML nesting is deeper than {MAX_DEPTH} levels", "flatten it")
    except yaml.YAMLError as error:  # pragma: no cover - every PyYAML error above is marked
        return _fail(file, f"YAML syntax: {error}", None)
    if root is None:
        return _fail(
            file,
            "the file is empty; expected a template (key: value lines)",
            "write at least `name:` and `steps:`, or delete the file",
        )
    if not isinstance(root, MappingNode) or root.tag != MAP:
        what = "a single value"
        if isinstance(root, SequenceNode):
            what = "a list"
        elif isinstance(root, MappingNode):
            what = f"a `{root.tag}`"
        loaded.source.record("$", root)
        loaded.problems.append(
            Problem.at(
                ERROR,
                loaded.source["$"],
                "$",
                f"the top level must be a mapping of keys (name:, steps:, …), got {what}",
                "start the file with `name: …` and `steps:`; see schemas/"
                "sequence-template.schema.json",
            )
        )
        return loaded
    convert(root, loaded, check_surrogates=not LIBYAML)
    return loaded


def _compose(data: bytes, text: str) -> Node | None:
    loader: _CComposer | _PyComposer = _CComposer(data) if LIBYAML else _PyComposer(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


_RESOLVE: Any = yaml.resolver.BaseResolver.resolve
_PLAIN_TAGS: dict[str, str] = {}
_PLAIN_TAGS_LIMIT = 20_000


class _CachedResolver:
    """PyYAML's safe resolver with a cache: a plain scalar's tag depends on its text alone.

    The safe loaders have no path resolvers, so every other node gets the default tag.
    Resolving is most of the parsing time for templates, whose scalars repeat a lot.
    """

    resolvable_first: Container[str] = ()  # set for each composer class below

    def resolve(self, kind: type[Node], value: str, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if not implicit[0] or value[:1] not in self.resolvable_first:
                return STR  # quoted, or no implicit resolver for its first character
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = _RESOLVE(self, kind, value, implicit)
                if len(_PLAIN_TAGS) < _PLAIN_TAGS_LIMIT:
                    _PLAIN_TAGS[value] = tag
            return tag
        return MAP if kind is MappingNode else SEQ

    def descend_resolver(self, current_node: Node | None, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


class _CComposer(_CachedResolver, yaml.CSafeLoader):
    pass


class _PyComposer(_CachedResolver, yaml.SafeLoader):
    pass


class _Anything:
    def __contains__(self, item: object) -> bool:
        return True


def _first_characters(composer: type[_CComposer | _PyComposer]) -> Container[str]:
    """The first characters for which the composer's resolver has implicit resolvers ("" for
    the empty scalar); a plain scalar that starts otherwise is a string, as are most (names,
    messages). Every character where a resolver applies to any (PyYAML has none such)."""
    resolvers: dict[str | None, Any] = composer.yaml_implicit_resolvers
    if None in resolvers:
        return _Anything()
    return frozenset(key for key in resolvers if key is not None)


_CComposer.resolvable_first = _first_characters(_CComposer)
_PyComposer.resolvable_first = _first_characters(_PyComposer)


# -- problems -----------------------------------------------------------------------------

_SYNTAX_HINTS = (
    ("cannot start any token", "\t", "YAML does not allow tabs for indentation; use spaces"),
    ("tab character", "", "YAML does not allow tabs for indentation; use spaces"),
    ("cannot start any token", "`", "quote values that start with a backtick"),
    ("cannot start any token", "@", "quote values that start with @"),
    ("cannot start any token", "%", "quote values that start with %"),
    ("mapping values are not allowed", "", 'quote values that contain ": ", e.g. "Call: intro"'),
    ("did not find expected key", "", "check the indentation of this line and the one above"),
    ("did not find expected '-' indicator", "", "check the indentation of the list items"),
    ("found undefined alias", "", "define the anchor (`&name`) before using `*name`"),
    ("end of stream", "", "close the quote or bracket opened earlier"),
    ("exceeded maximum nesting depth", "", "templates need only a few levels of nesting"),
    (
        "found unknown escape character",
        "",
        "in double quotes write a backslash as \\\\, or use single quotes",
    ),
)


def _syntax_problem(error: yaml.MarkedYAMLError, text: str, file: str) -> Problem:
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark else 1
    column = mark.column + 1 if mark else 1
    problem = error.problem or "invalid YAML"
    if problem == "but found another document":
        return Problem(
            ERROR,
            file,
            line,
            column,
            "$",
            "a second YAML document (`---`) in the file; a file holds exactly one template",
            "move each template to its own file",
        )
    message = f"YAML syntax: {error.context}: {problem}" if error.context else f"YAML: {problem}"
    if error.context and error.context_mark and error.context_mark is not mark:
        ctx = error.context_mark
        message += f" (the {error.context.split()[-1]} starts at line {ctx.line + 1}, "
        message += f"column {ctx.column + 1})"
    character = ""
    if mark is not None:
        lines = text.splitlines()
        if mark.line < len(lines) and mark.column < len(lines[mark.line]):
            character = lines[mark.line][mark.column]
    hint = None
    for needle, char, candidate in _SYNTAX_HINTS:
        if needle in problem and (not char or char == character):
            hint = candidate
            break
    if "cannot start any token" in problem and character:
        message = f"YAML syntax: found {character!r}, which cannot start any token"
    return Problem(ERROR, file, line, column, "$", message, hint)


def _fail(file: str, message: str, hint: str | None) -> LoadedFile:
    loaded = LoadedFile(file, SourceMap(file))
    loaded.problems.append(Problem(ERROR, file, 1, 1, "$", message, hint))
    return loaded


def _too_big(file: str, size: int) -> LoadedFile:
    return _fail(
        file,
        f"the file is {size / 1024 / 1024:.1f} MiB; template files are limited to "
        f"{MAX_FILE_BYTES // 1024 // 1024} MiB",
        f"a template has at most {MAX_STEPS} steps; split it or remove the bulk",
    )


def _byte_position(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    return line, column


def _char_position(text: str, offset: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1

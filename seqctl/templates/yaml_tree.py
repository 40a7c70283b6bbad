"""Loaded YAML: JSON-compatible data, the source position of every value, and the
conversion from PyYAML's node tree that produces them.

:func:`convert` turns a composed node tree into plain JSON values (str, int, float, bool,
None, list, dict), recording in a :class:`SourceMap` where each JSON path's key and value
are written. It refuses, with a problem each: duplicate keys, non-string keys, merge keys,
unsupported tags, values JSON cannot hold (dates, NaN), nesting deeper than
:data:`MAX_DEPTH`, and alias expansion beyond :data:`MAX_VALUES` values ("billion laughs").
YAML 1.1 surprises (``no`` → false, ``1:30`` → 90) are noted in :attr:`LoadedFile.yaml11`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from .problems import ERROR, Problem, member_path, parent_path
from .spec import Location

MAX_DEPTH = 50
MAX_VALUES = 100_000

TAG = "tag:yaml.org,2002:"
STR, _INT, _FLOAT, _BOOL, _NULL = (TAG + t for t in ("str", "int", "float", "bool", "null"))
MAP, SEQ, _MERGE, _TIMESTAMP = (TAG + t for t in ("map", "seq", "merge", "timestamp"))
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
_TRUE_WORDS = frozenset(("true", "yes", "on"))
_BOOL_WORDS = _TRUE_WORDS | {"false", "no", "off"}
_KIND = {_INT: "number", _FLOAT: "number", _BOOL: "boolean", _NULL: "null"}


@dataclass(frozen=True)
class Yaml11Note:
    """An unquoted scalar that YAML 1.1 (PyYAML) and YAML 1.2 (editors) read differently."""

    text: str
    message: str
    hint: str


class SourceMap(Mapping[str, Location]):
    """JSON path → position of its value (1-based line and column) in one file.

    :meth:`key_location` gives the position of a mapping key rather than of its value.
    Positions are kept as plain ints (line << 24 | column, 0-based) rather than YAML nodes,
    so that thousands of loaded files cost the garbage collector nothing.
    """

    __slots__ = ("file", "_values", "_keys")

    def __init__(self, file: str) -> None:
        self.file = file
        self._values: dict[str, int] = {}
        self._keys: dict[str, int] = {}

    def __getitem__(self, path: str) -> Location:
        return self._location(self._values[path])

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def key_location(self, path: str) -> Location:
        """Where the key of member ``path`` is written (else where its value is)."""
        packed = self._keys.get(path)
        return self.nearest(path) if packed is None else self._location(packed)

    def nearest(self, path: str) -> Location:
        """The position of ``path``, or of its closest ancestor that has one."""
        current: str | None = path
        while current is not None:
            if current in self._values:
                return self[current]
            current = parent_path(current)
        return Location(self.file, 1, 1)

    def record(self, path: str, node: Node) -> None:
        """Remember where the value at ``path`` is written."""
        self._values[path] = node.start_mark.line << 24 | node.start_mark.column

    def _location(self, packed: int) -> Location:
        return Location(self.file, (packed >> 24) + 1, (packed & 0xFFFFFF) + 1)


@dataclass
class LoadedFile:
    """One file read: ``data`` is its JSON-compatible content unless ``readable`` is false."""

    file: str
    source: SourceMap
    data: Any = None
    readable: bool = False
    problems: list[Problem] = field(default_factory=list)
    yaml11: dict[str, Yaml11Note] = field(default_factory=dict)
    # JSON path → source text of each unquoted scalar that YAML read as a non-string
    plain: dict[str, str] = field(default_factory=dict)
    # paths whose value the loader refused (and replaced by null): already reported
    refused: set[str] = field(default_factory=set)


def convert(root: MappingNode, loaded: LoadedFile, *, check_surrogates: bool) -> None:
    """Fill ``loaded`` (data, positions, problems) from the node tree of one document."""
    builder = _Builder(loaded, check_surrogates)
    try:
        loaded.data = builder.value(root, "$", 0)
        loaded.readable = True
    except _TooDeep as error:
        loaded.problems.append(
            Problem.at(
                ERROR,
                error.location,
                error.path,
                f"nested more than {MAX_DEPTH} levels deep (a recursive alias?)",
                "templates need only a few levels; flatten the value",
            )
        )
    except _TooMany:
        loaded.problems.append(
            Problem(
                ERROR,
                loaded.file,
                1,
                1,
                "$",
                f"the document expands to more than {MAX_VALUES} values (aliases expanding "
                "exponentially, a 'billion laughs' document?)",
                "a template has at most a few thousand values; write them out without aliases",
            )
        )


# -- node tree → JSON data ----------------------------------------------------------------


class _TooDeep(Exception):
    def __init__(self, path: str, location: Location) -> None:
        super().__init__(path)
        self.path = path
        self.location = location


class _TooMany(Exception):
    pass


class _Builder:
    """Converts nodes to JSON values, recording positions and problems on the way."""

    def __init__(self, loaded: LoadedFile, check_surrogates: bool) -> None:
        self.loaded = loaded
        self.check_surrogates = check_surrogates
        self.file = loaded.file
        self.values = loaded.source._values
        self.keys = loaded.source._keys
        self.plain = loaded.plain
        self.budget = MAX_VALUES

    def value(self, node: Node, path: str, depth: int) -> Any:
        mark = node.start_mark
        self.values[path] = mark.line << 24 | mark.column
        self.budget -= 1
        if self.budget < 0:
            raise _TooMany
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if depth >= MAX_DEPTH:
            raise _TooDeep(path, self.location(node))
        if isinstance(node, MappingNode):
            if node.tag != MAP:
                return self.unsupported_tag(node, path)
            return self.mapping(node, path, depth + 1)
        if node.tag != SEQ:
            return self.unsupported_tag(node, path)
        return [self.value(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(node.value)]

    def mapping(self, node: MappingNode, path: str, depth: int) -> dict[str, Any]:
        # the hot loop of loading: plain string keys and values are handled inline
        result: dict[str, Any] = {}
        values, keys = self.values, self.keys
        for key_node, value_node in node.value:
            if key_node.tag == STR and key_node.__class__ is ScalarNode:
                key: str | None = key_node.value
            else:
                key = self.key(key_node, path)
            if key is None:
                continue
            child = (
                f"{path}.{key}" if key.isidentifier() and key.isascii() else member_path(path, key)
            )
            mark = key_node.start_mark
            if key in result:
                first = self._location(keys[child])
                self.error(
                    key_node,
                    child,
                    f"duplicate key `{key}` (first written at line {first.line}, "
                    f"column {first.column})",
                    "remove one of them; YAML mappings cannot repeat a key",
                )
                continue
            keys[child] = mark.line << 24 | mark.column
            if (
                value_node.tag == STR
                and value_node.__class__ is ScalarNode
                and not self.check_surrogates
            ):
                mark = value_node.start_mark
                values[child] = mark.line << 24 | mark.column
                self.budget -= 1
                result[key] = value_node.value
            else:
                result[key] = self.value(value_node, child, depth)
        return result

    def key(self, node: Node, path: str) -> str | None:
        if node.__class__ is ScalarNode:
            if node.tag == STR:
                return str(node.value)
            if node.tag == _MERGE:
                self.loaded.refused.add(path)
                self.error(
                    node,
                    path,
                    "merge keys (`<<: *anchor`) are not supported",
                    "write the keys out; anchors and aliases (`*name`) of whole values work",
                )
                return None
            if node.tag in _KIND and not node.style:
                text = node.value
                self.error(
                    node,
                    path,
                    f"mapping keys must be strings; YAML reads the unquoted key `{text}` as a "
                    f"{_KIND[node.tag]}",
                    f'quote it: "{text}":',
                )
                return None
        self.error(
            node,
            path,
            "mapping keys must be plain strings",
            "write the key as text, e.g. `name:`",
        )
        return None

    def scalar(self, node: ScalarNode, path: str) -> Any:
        tag = node.tag
        text: str = node.value
        if tag == STR:
            if self.check_surrogates and _SURROGATE.search(text):
                self.error(
                    node,
                    path,
                    "the text contains an unpaired surrogate (\\ud800-\\udfff)",
                    "use valid Unicode characters",
                )
            return text
        if not node.style:
            self.plain[path] = text
        if tag == _INT:
            if _DECIMAL.match(text):
                return int(text)
            try:
                number = _constructor().construct_yaml_int(node)
            except ValueError:  # an explicit tag on something else: !!int "abc"
                return self.bad_explicit(node, path)
            self.note(
                path,
                text,
                f"YAML 1.1 reads `{text}` as the number {number}",
                f"write {number}, or quote the value if you meant text",
            )
            return number
        if tag == _BOOL:
            if text.lower() not in _BOOL_WORDS:
                return self.bad_explicit(node, path)
            truth = text.lower() in _TRUE_WORDS
            if text.lower() not in ("true", "false"):
                word = "true" if truth else "false"
                self.note(
                    path,
                    text,
                    f"YAML 1.1 reads `{text}` as boolean {word}; YAML 1.2 tools such as "
                    "editors read the text "
                    f'"{text}"',
                    f"write {word}, or quote the value if you meant text",
                )
            return truth
        if tag == _NULL:
            return None
        if tag == _FLOAT:
            try:
                real: float = _constructor().construct_yaml_float(node)
            except ValueError:
                return self.bad_explicit(node, path)
            if not math.isfinite(real):
                self.error(
                    node,
                    path,
                    f"`{text}` is not a finite number; JSON cannot hold it",
                    "write a number, or quote the value if you meant text",
                )
                return text
            if "_" in text or ":" in text:
                self.note(
                    path,
                    text,
                    f"YAML 1.1 reads `{text}` as the number {real!r}",
                    f"write {real!r}, or quote the value if you meant text",
                )
            return real
        if tag == _TIMESTAMP:
            self.error(
                node,
                path,
                f"YAML reads the unquoted `{text}` as a date or time, which JSON cannot hold",
                f'quote it: "{text}"',
            )
            return text
        return self.unsupported_tag(node, path)

    def bad_explicit(self, node: ScalarNode, path: str) -> None:
        self.loaded.refused.add(path)
        self.error(
            node,
            path,
            f"`{node.value}` is not a valid `{_short(node.tag)}`",
            "remove the tag or fix the value",
        )

    def unsupported_tag(self, node: Node, path: str) -> None:
        self.loaded.refused.add(path)
        self.error(
            node,
            path,
            f"unsupported YAML tag `{_short(node.tag)}`",
            "templates hold plain strings, numbers, booleans, lists and mappings",
        )
        return None

    def note(self, path: str, text: str, message: str, hint: str) -> None:
        self.loaded.yaml11[path] = Yaml11Note(text, message, hint)

    def error(self, node: Node, path: str, message: str, hint: str | None) -> None:
        self.loaded.problems.append(Problem.at(ERROR, self.location(node), path, message, hint))

    def location(self, node: Node) -> Location:
        return Location(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def _location(self, packed: int) -> Location:
        return Location(self.file, (packed >> 24) + 1, (packed & 0xFFFFFF) + 1)


def _short(tag: str) -> str:
    return "!!" + tag.removeprefix(TAG) if tag.startswith(TAG) else tag


_SURROGATE = re.compile("[\ud800-\udfff]")
_CONSTRUCTOR: list[yaml.constructor.SafeConstructor] = []


def _constructor() -> yaml.constructor.SafeConstructor:
    if not _CONSTRUCTOR:
        _CONSTRUCTOR.append(yaml.constructor.SafeConstructor())
    return _CONSTRUCTOR[0]

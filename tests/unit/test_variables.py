"""Message variables: the §5 list and the tokenizer shared with rendering."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from seqctl.templates.variables import (
    KNOWN_VARIABLES,
    Variable,
    find_variables,
    is_known,
    spaced_tokens,
    suggest_variable,
    unknown_variables,
)

SPEC = Path("/work/shared/spec/seqctl.md")


def test_known_variables_are_the_contract_list() -> None:
    assert len(KNOWN_VARIABLES) == len(set(KNOWN_VARIABLES)) == 47
    if SPEC.exists():  # the contract lives beside the repository in the team's workspace
        section = SPEC.read_text(encoding="utf-8").split("## 5. Message variables")[1]
        listed = re.findall(r"`\{([a-z_]+)\}`", section.split("\n\n")[1])
        assert tuple(listed) == KNOWN_VARIABLES


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Hi {first_name}!", [Variable("first_name", 3, 15)]),
        ("{a}{b_2}", [Variable("a", 0, 3), Variable("b_2", 3, 8)]),
        ("{} {1} { a } {a b} {{x}", [Variable("x", 20, 23)]),
        ("no braces", []),
        ('{"json": 1}', []),
    ],
)
def test_find_variables(text: str, found: list[Variable]) -> None:
    assert find_variables(text) == found
    for variable in found:
        assert text[variable.start : variable.end] == "{" + variable.name + "}"


def test_unknown_and_suggestions() -> None:
    assert unknown_variables("{city} {town} {First_Name}") == ["town", "First_Name"]
    assert is_known("city") and not is_known("town")
    assert suggest_variable("First_Name") == "first_name"
    assert suggest_variable("restaurantname") == "restaurant_name"
    assert suggest_variable("xyz") is None


def test_spaced_tokens() -> None:
    assert list(spaced_tokens("{ city } {first_name } { x} {ok}")) == [
        ("{ city }", "city"),
        ("{first_name }", "first_name"),
        ("{ x}", "x"),
    ]

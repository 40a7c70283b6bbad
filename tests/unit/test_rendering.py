"""Message rendering (§5): known variables filled in once, unknown ones left as written."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from seqctl.templates.rendering import Today, compile_message, render, variable_values
from seqctl.templates.variables import KNOWN_VARIABLES

LUIGI = {
    "name": "Luigi's Trattoria",
    "email": "hello@luigis.example",
    "phone": None,
    "address": "12 Columbus Ave",
    "city": "San Francisco",
    "website": "",
    "cuisine": "Italian",
    "contact_name": "  Luigi   Rossi ",
    "contact_email": None,
    "contact_phone": "+1 415 555 0102",
}
VALUES = variable_values(LUIGI, today=Today(date(2026, 1, 31)))


def test_every_known_variable_has_a_value_source() -> None:
    assert set(VALUES) == set(KNOWN_VARIABLES)


def test_values() -> None:
    assert VALUES["restaurant_name"] == "Luigi's Trattoria"
    assert VALUES["restaurant_address"] == "12 Columbus Ave"
    assert VALUES["first_name"] == "Luigi"
    # as the application renders them: the column as stored, the date as en-NZ writes it
    assert VALUES["contact_name"] == "  Luigi   Rossi "
    assert (VALUES["today"], VALUES["current_year"]) == ("31/01/2026", "2026")
    assert VALUES["restaurant_phone"] == "" and VALUES["restaurant_website"] == ""


def test_render() -> None:
    text = "Hi {first_name} at {restaurant_name} ({city}) {phone} {restaurant_phone}{ city }"
    assert render(text, VALUES) == (
        "Hi Luigi at Luigi's Trattoria (San Francisco) {phone} { city }"
    )
    assert compile_message(text).empty_variables(VALUES) == ["restaurant_phone"]
    assert compile_message(text).variables == (
        "first_name",
        "restaurant_name",
        "city",
        "restaurant_phone",
    )


def test_single_pass_never_expands_a_value() -> None:
    values = {**VALUES, "restaurant_name": "{city} & {first_name}"}
    assert render("{restaurant_name}!", values) == "{city} & {first_name}!"


def test_no_contact_gives_empty_first_name() -> None:
    values = variable_values(
        {"name": "X", "contact_name": "   ", "organisation_name": None},
        today=Today(date(2026, 1, 1)),
    )
    assert values["first_name"] == "" and values["organisation_name"] == ""
    assert render("Hi {first_name}{organisation_name}.", values) == "Hi ."


@given(st.text())
def test_text_without_braces_is_unchanged(text: str) -> None:
    plain = text.replace("{", "")
    assert render(plain, VALUES) == plain


@given(st.lists(st.sampled_from([*KNOWN_VARIABLES, "x", " ", "{", "}", "{nope}"]), max_size=20))
def test_render_matches_a_naive_replacement(pieces: list[str]) -> None:
    text = "".join("{" + p + "}" if p in KNOWN_VARIABLES else p for p in pieces)
    expected = "".join((VALUES[p] or "") if p in KNOWN_VARIABLES else p for p in pieces)
    assert render(text, VALUES) == expected

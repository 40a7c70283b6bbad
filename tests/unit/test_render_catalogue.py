"""Every variable of the application's catalogue (§5), rendered as the application renders it.

The expected strings are written from the application's formatting rules
(``variable-replacement-service.js`` of the CRM): ``restaurant[column] || ''`` for plain
columns, Yes/No/Unknown booleans, ``toLocaleString('en-NZ')`` numbers with " orders",
``$`` + ``toFixed(2)``, ``toFixed(1)`` + ``%``, tag lists joined with ", ", ``lead_stage``
with spaces, website type labels, relative "last contacted" days, and ``en-NZ`` dates.
They are not taken from seqctl's output.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from seqctl.templates.declared import Declared
from seqctl.templates.rendering import (
    CATALOGUE,
    RESTAURANT_COLUMNS,
    Today,
    compile_message,
    format_number,
    format_relative_day,
    missing_columns,
    to_fixed,
    variable_values,
)
from seqctl.templates.variables import KNOWN_VARIABLES

TODAY = Today(date(2025, 1, 16), "Pacific/Auckland")  # a Thursday

FULL: dict[str, Any] = {
    "name": "Bella Pizza",
    "email": "hello@bellapizza.co.nz",
    "phone": "09 123 4567",
    "address": "123 Main St, Auckland",
    "website": "www.bellapizza.co.nz",
    "city": "Wellington",
    "contact_name": "John  Smith",
    "contact_email": "john@example.com",
    "contact_phone": "021 123 4567",
    "contact_role": "Owner",
    "organisation_name": "Bella Group Ltd",
    "cuisine": ["Italian", "Pizza"],
    "opening_hours_text": "Mon-Fri 11am-9pm",
    "lead_stage": "demo_booked",
    "lead_warmth": "warm",
    "lead_status": "active",
    "icp_rating": 8,
    "demo_store_url": "https://demo-bella.pumpd.co.nz",
    "demo_store_built": True,
    "subdomain": "bella-pizza",
    "ubereats_url": "https://www.ubereats.com/store/bella",
    "doordash_url": "https://www.doordash.com/store/bella",
    "instagram_url": "https://instagram.com/bellapizza",
    "facebook_url": "https://facebook.com/bellapizza",
    "number_of_venues": 3,
    "point_of_sale": "Lightspeed",
    "online_ordering_platform": "ChowNow",
    "online_ordering_handles_delivery": True,
    "self_delivery": False,
    "weekly_uber_sales_volume": Decimal("1500.00"),
    "uber_aov": Decimal("32.50"),
    "uber_markup": Decimal("20.00"),
    "uber_profitability": Decimal("-12.25"),
    "uber_profitability_description": "Profitable after commission",
    "current_marketing_description": "Social media, email campaigns",
    "details": "Very interested in switching",
    "painpoints": [{"value": "High commission", "label": "High commission"}, {"value": "Slow"}],
    "core_selling_points": ["Lower fees", "Better margins"],
    "features_to_highlight": [{"value": "Custom domain"}, {"value": "Analytics"}],
    "possible_objections": ["Migration effort"],
    "meeting_link": "https://meet.google.com/abc-defg-hij",
    "website_type": "custom_domain",
    # 10:00 UTC on the 15th is 23:00 on the 15th in Auckland (UTC+13): yesterday
    "last_contacted": datetime(2025, 1, 15, 10, 0, tzinfo=UTC),
}

FULL_EXPECTED = {
    "restaurant_name": "Bella Pizza",
    "restaurant_email": "hello@bellapizza.co.nz",
    "restaurant_phone": "09 123 4567",
    "restaurant_address": "123 Main St, Auckland",
    "restaurant_website": "www.bellapizza.co.nz",
    "city": "Wellington",
    "contact_name": "John  Smith",
    "first_name": "John",
    "contact_email": "john@example.com",
    "contact_phone": "021 123 4567",
    "contact_role": "Owner",
    "organisation_name": "Bella Group Ltd",
    "cuisine": "Italian, Pizza",
    "opening_hours_text": "Mon-Fri 11am-9pm",
    "lead_stage": "demo booked",
    "lead_warmth": "warm",
    "lead_status": "active",
    "icp_rating": "8",
    "demo_store_url": "https://demo-bella.pumpd.co.nz",
    "demo_store_built": "Yes",
    "subdomain": "bella-pizza",
    "ubereats_url": "https://www.ubereats.com/store/bella",
    "doordash_url": "https://www.doordash.com/store/bella",
    "instagram_url": "https://instagram.com/bellapizza",
    "facebook_url": "https://facebook.com/bellapizza",
    "number_of_venues": "3",
    "point_of_sale": "Lightspeed",
    "online_ordering_platform": "ChowNow",
    "online_ordering_handles_delivery": "Yes",
    "self_delivery": "No",
    "weekly_uber_sales_volume": "1,500 orders",
    "uber_aov": "$32.50",
    "uber_markup": "20.0%",
    "uber_profitability": "-12.3%",
    "uber_profitability_description": "Profitable after commission",
    "current_marketing_description": "Social media, email campaigns",
    "qualification_details": "Very interested in switching",
    "painpoints": "High commission, Slow",
    "core_selling_points": "Lower fees, Better margins",
    "features_to_highlight": "Custom domain, Analytics",
    "possible_objections": "Migration effort",
    "meeting_link": "https://meet.google.com/abc-defg-hij",
    "website_type": "Custom Domain",
    "last_contacted_day": "yesterday",
    "today": "16/01/2025",
    "current_date": "Thursday, 16 January 2025",
    "current_year": "2025",
}

# every column present, every value NULL but the name (and the JSONB lists' default '[]')
NONE: dict[str, Any] = {
    **dict.fromkeys(RESTAURANT_COLUMNS),
    "name": "",
    "painpoints": [],
    "core_selling_points": [],
}

NONE_EXPECTED = {
    **dict.fromkeys(KNOWN_VARIABLES, ""),
    "demo_store_built": "No",  # `demo_store_built ? 'Yes' : 'No'`
    "online_ordering_handles_delivery": "Unknown",  # NULL = not known
    "self_delivery": "Unknown",
    "last_contacted_day": "Never",
    "today": "16/01/2025",
    "current_date": "Thursday, 16 January 2025",
    "current_year": "2025",
}


def test_the_catalogue_is_the_contract_list() -> None:
    assert tuple(CATALOGUE) == KNOWN_VARIABLES
    assert set(FULL_EXPECTED) == set(KNOWN_VARIABLES) == set(NONE_EXPECTED)


def test_a_restaurant_with_every_value() -> None:
    assert variable_values(FULL, today=TODAY) == FULL_EXPECTED


def test_a_restaurant_with_no_values() -> None:
    assert variable_values(NONE, today=TODAY) == NONE_EXPECTED


@pytest.mark.parametrize("name", KNOWN_VARIABLES)
def test_each_variable_in_a_message(name: str) -> None:
    message = compile_message(f"<{{{name}}}>")
    assert message.variables == (name,)
    assert message.render(variable_values(FULL, today=TODAY)) == f"<{FULL_EXPECTED[name]}>"
    assert message.render(variable_values(NONE, today=TODAY)) == f"<{NONE_EXPECTED[name]}>"


def test_a_column_the_database_lacks_renders_empty() -> None:
    """Every variable that reads a column renders empty when the row has no such column
    (not 'Unknown', 'No' or 'Never'); the dates still render."""
    values = variable_values({"name": "Bella Pizza"}, today=TODAY)
    assert values["restaurant_name"] == "Bella Pizza"
    for name in ("self_delivery", "demo_store_built", "last_contacted_day", "cuisine"):
        assert values[name] == ""
    assert values["today"] == "16/01/2025"
    lacking = missing_columns(["uber_aov", "qualification_details", "today", "city"], {"city"})
    assert lacking == {"uber_aov": "uber_aov", "qualification_details": "details"}


def test_plain_columns_follow_javascript_truthiness() -> None:
    """`restaurant[column] || ''`: 0 renders empty, a text is kept as it is (not trimmed)."""
    values = variable_values(
        {"icp_rating": 0, "contact_name": "  Ana  María ", "cuisine": "Thai"}, today=TODAY
    )
    assert values["icp_rating"] == ""
    assert values["contact_name"] == "  Ana  María "
    assert values["first_name"] == "Ana"
    assert values["cuisine"] == "Thai"  # a text column (older schemas) is kept as it is


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("0"), "0 orders"),
        (Decimal("250"), "250 orders"),
        (Decimal("1500.50"), "1,500.5 orders"),
        (Decimal("12345678.25"), "12,345,678.25 orders"),
        (1234567.891, "1,234,567.891 orders"),
    ],
)
def test_sales_volume(value: Any, expected: str) -> None:
    assert (
        variable_values({"weekly_uber_sales_volume": value}, today=TODAY)[
            "weekly_uber_sales_volume"
        ]
        == expected
    )
    assert format_number(value) == expected.removesuffix(" orders")


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("uber_aov", Decimal("0"), "$0.00"),
        ("uber_aov", Decimal("5"), "$5.00"),
        ("uber_aov", Decimal("1234.5"), "$1234.50"),  # toFixed: no grouping
        ("uber_markup", Decimal("15.55"), "15.6%"),
        ("uber_markup", Decimal("100"), "100.0%"),
        ("uber_profitability", Decimal("-100"), "-100.0%"),
        ("uber_profitability", Decimal("0.05"), "0.1%"),
    ],
)
def test_money_and_percentages(column: str, value: Decimal, expected: str) -> None:
    name = column
    assert variable_values({column: value}, today=TODAY)[name] == expected


def test_to_fixed_rounds_the_binary_value_half_away_from_zero() -> None:
    assert to_fixed(0.125, 2) == "0.13"
    assert to_fixed(1.005, 2) == "1.00"  # 1.00499999999999989...
    assert to_fixed(-12.25, 1) == "-12.3"
    assert to_fixed(-0.0, 2) == "0.00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("platform_subdomain", "Platform Subdomain"),
        ("custom_domain", "Custom Domain"),
        ("no_website", "No Website"),
        ("something_else", "something_else"),
        (None, ""),
    ],
)
def test_website_type_labels(value: str | None, expected: str) -> None:
    assert variable_values({"website_type": value}, today=TODAY)["website_type"] == expected


def test_lists_of_tags_strings_and_lead_stage() -> None:
    values = variable_values(
        {
            "painpoints": ["Fees"],
            "core_selling_points": None,
            "features_to_highlight": [{"label": "no value"}],
            "possible_objections": [{"value": "A"}, "b", {"value": "C"}],
            "lead_stage": "closed_won_extra",
        },
        today=TODAY,
    )
    assert values["painpoints"] == "Fees"
    assert values["core_selling_points"] == ""
    assert values["features_to_highlight"] == "[object Object]"  # as the application joins it
    assert values["possible_objections"] == "A, , C"
    assert values["lead_stage"] == "closed won extra"


THURSDAY = Today(date(2025, 6, 19), "UTC")


@pytest.mark.parametrize(
    ("days_ago", "expected"),
    [
        (0, "today"),
        (1, "yesterday"),
        (2, "on Tuesday"),
        (6, "on Friday"),
        (7, "last Thursday"),
        (13, "last Friday"),
        (14, "3 weeks ago"),  # the application's own counting (weeks + 1)
        (20, "3 weeks ago"),
        (21, "4 weeks ago"),
        (29, "5 weeks ago"),
        (30, "in May"),
        (169, "in January"),
        (170, "last year"),
        (-3, "on Sunday"),
    ],
)
def test_last_contacted_day(days_ago: int, expected: str) -> None:
    contacted = datetime(2025, 6, 19, 12, tzinfo=UTC) - timedelta(days=days_ago)
    assert format_relative_day(contacted, THURSDAY) == expected


def test_last_contacted_counts_days_in_the_configured_time_zone() -> None:
    # 12:00 UTC on the 15th is already the 16th in Auckland: today, not yesterday
    contacted = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
    assert format_relative_day(contacted, TODAY) == "today"
    assert format_relative_day(contacted, Today(date(2025, 1, 16), "UTC")) == "yesterday"
    assert format_relative_day(None, TODAY) == "Never"


def test_dates_are_those_of_the_configured_day() -> None:
    values = variable_values({}, today=Today(date(2026, 3, 5), "Pacific/Auckland"))
    assert (values["today"], values["current_date"], values["current_year"]) == (
        "5/03/2026",
        "Thursday, 5 March 2026",
        "2026",
    )


DECLARED = Declared(
    {
        "admin_url": "https://admin.pumpd.co.nz",
        "ordering_url": {"template": "https://{subdomain}.pumpd.co.nz"},
        "example_restaurant_1": {
            "by": "city",
            "values": {"Auckland": "Eat Mi", "Wellington": "Chaat Street"},
            "default": "Eat Mi",
        },
        "example_restaurant_2": {"by": "city", "values": {"Wellington": "Pho Mo"}},
    }
)


def test_declared_variables() -> None:
    full = variable_values(FULL, today=TODAY, declared=DECLARED)
    assert full["admin_url"] == "https://admin.pumpd.co.nz"
    assert full["ordering_url"] == "https://bella-pizza.pumpd.co.nz"
    assert (full["example_restaurant_1"], full["example_restaurant_2"]) == (
        "Chaat Street",
        "Pho Mo",
    )
    none = variable_values(NONE, today=TODAY, declared=DECLARED)
    assert none["ordering_url"] == ""  # no subdomain: no URL
    assert (none["example_restaurant_1"], none["example_restaurant_2"]) == ("Eat Mi", "")
    lower = variable_values({**FULL, "city": "wELLINGTON"}, today=TODAY, declared=DECLARED)
    assert lower["example_restaurant_1"] == "Chaat Street"


def test_declared_variables_render_once() -> None:
    """A value holding a token is never expanded again (single pass)."""
    declared = Declared({"signature": "{first_name} & co"})
    values = variable_values(FULL, today=TODAY, declared=declared)
    message = compile_message("{signature} / {first_name}", declared.names)
    assert message.render(values) == "{first_name} & co / John"

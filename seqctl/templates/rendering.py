"""Message variables filled in (§5) exactly as the application formats them.

Every variable of the catalogue (``seqctl.templates.variables.KNOWN_VARIABLES``) has a rule: the
``restaurants`` columns it reads and a formatter that follows the application's
variable-replacement service — booleans as Yes/No/Unknown, ``1,500 orders``, ``$32.50``,
``20.0%``, lists joined with ", ", ``lead_stage`` with spaces, website type labels, the
relative "last contacted" day, and dates in the configured time zone. A column the
database lacks makes its variables render empty (:func:`missing_columns` says which).

An unknown variable is left as written; a known one with no value becomes empty.
Rendering is a single pass, so a value that itself contains ``{…}`` is never expanded
again (the one documented difference from the application, which replaces variable by
variable). A message is compiled once per step and rendered for many restaurants. Tokens
are read by ``seqctl.templates.variables.find_variables``, so rendering and ``seqctl validate``
agree.
Organisation-specific variables declared in the repository (``seqctl.templates.declared``) are
rendered from the catalogue values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..config import DEFAULT_TIMEZONE
from .variables import KNOWN_VARIABLES, find_variables, is_known

if TYPE_CHECKING:
    from .declared import Declared

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEBSITE_TYPES = {
    "custom_domain": "Custom Domain",
    "platform_subdomain": "Platform Subdomain",
    "no_website": "No Website",
}


@dataclass(frozen=True)
class Today:
    """The date variables' clock: today's date in the configured time zone, and that zone
    (to read timestamps such as ``last_contacted`` as local dates)."""

    date: date
    timezone: str = DEFAULT_TIMEZONE


Formatter = Callable[[Mapping[str, Any], Today], str]


@dataclass(frozen=True)
class Rule:
    """How one variable is filled in: the restaurants columns it reads, and its formatter."""

    columns: tuple[str, ...]
    format: Formatter


# -- the application's formatters ------------------------------------------------------------


def js_truthy(value: Any) -> bool:
    """JavaScript truthiness: None, '', 0, NaN and false are falsy; lists and objects are not."""
    if value is None or value is False or value == "":
        return False
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return not (value == 0 or (isinstance(value, float) and math.isnan(value)))
    return True


def js_string(value: Any) -> str:
    """``String(value)`` of the JSON value PostgREST would hand the application."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    if isinstance(value, list | tuple):
        return ",".join("" if item is None else js_string(item) for item in value)
    if isinstance(value, Mapping):
        return "[object Object]"
    return str(value)


def _number(value: Any) -> float | None:
    """``Number(value)`` for the application's number formatters; None where it gives ''."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, InvalidOperation):
        return None
    return None if math.isnan(number) else number


def to_fixed(number: float, digits: int) -> str:
    """JavaScript's ``number.toFixed(digits)``: the exact binary value rounded half away
    from zero (``(0.125).toFixed(2)`` is ``0.13``, ``(1.005).toFixed(2)`` is ``1.00``)."""
    if number == 0:
        number = 0.0  # (-0).toFixed() has no sign
    quantum = Decimal(1).scaleb(-digits)
    return f"{Decimal(number).quantize(quantum, rounding=ROUND_HALF_UP):f}"


def format_number(value: Any, suffix: str = "") -> str:
    """``toLocaleString('en-NZ')``: thousands grouped with commas, at most three decimals."""
    number = _number(value)
    if number is None:
        return ""
    rounded = Decimal(repr(number)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    whole, _, fraction = f"{abs(rounded):f}".partition(".")
    fraction = fraction.rstrip("0")
    text = ("-" if rounded < 0 else "") + f"{int(whole):,}" + (f".{fraction}" if fraction else "")
    return f"{text} {suffix}" if suffix else text


def format_currency(value: Any) -> str:
    number = _number(value)
    return "" if number is None else f"${to_fixed(number, 2)}"


def format_percentage(value: Any) -> str:
    number = _number(value)
    return "" if number is None else f"{to_fixed(number, 1)}%"


def format_boolean(value: Any) -> str:
    if value is None:
        return "Unknown"
    return "Yes" if js_truthy(value) else "No"


def format_list(value: Any) -> str:
    """A JSONB list of strings, or of tag objects ``{"value": …}``, joined with ", "."""
    if not isinstance(value, list) or not value:
        return ""
    first = value[0]
    if isinstance(first, Mapping) and js_truthy(first.get("value")):
        return ", ".join(
            js_string(item.get("value")) if isinstance(item, Mapping) else "" for item in value
        )
    return ", ".join("" if item is None else js_string(item) for item in value)


def format_website_type(value: Any) -> str:
    if not js_truthy(value):
        return ""
    return WEBSITE_TYPES.get(str(value), js_string(value))


def local_date(value: Any, timezone: str) -> date | None:
    """The calendar date of a timestamp (or date) in ``timezone``."""
    if isinstance(value, datetime):
        moment: datetime = value.astimezone(ZoneInfo(timezone)) if value.tzinfo else value
        return moment.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return local_date(datetime.fromisoformat(value), timezone)
        except ValueError:
            return None
    return None


def format_relative_day(value: Any, today: Today) -> str:
    """When the restaurant was last contacted, in words, counted in calendar days."""
    if not js_truthy(value):
        return "Never"
    contacted = local_date(value, today.timezone)
    if contacted is None:
        return "Never"
    days = (today.date - contacted).days
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days < 7:  # also a date in the future, as in the application
        return f"on {WEEKDAYS[contacted.weekday()]}"
    if days < 14:
        return f"last {WEEKDAYS[contacted.weekday()]}"
    if days < 30:
        # the application says "3 weeks ago" from day 14 (weeks + 1): kept as it renders
        return f"{days // 7 + 1} weeks ago"
    if contacted.year == today.date.year:
        return f"in {MONTHS[contacted.month - 1]}"
    return "last year"


def short_date(day: date) -> str:
    """``toLocaleDateString('en-NZ')``: ``6/01/2025``."""
    return f"{day.day}/{day.month:02d}/{day.year}"


def long_date(day: date) -> str:
    """The application's ``{current_date}``: ``Monday, 6 January 2025``."""
    return f"{WEEKDAYS[day.weekday()]}, {day.day} {MONTHS[day.month - 1]} {day.year}"


# -- the catalogue ---------------------------------------------------------------------------


def _column(name: str) -> Rule:
    """The column's value as the application writes it (``restaurant[column] || ''``)."""
    return Rule((name,), lambda r, _: js_string(r.get(name)) if js_truthy(r.get(name)) else "")


def _with(name: str, formatter: Callable[[Any], str]) -> Rule:
    return Rule((name,), lambda r, _: formatter(r.get(name)))


def _first_name(restaurant: Mapping[str, Any], _: Today) -> str:
    contact = restaurant.get("contact_name")
    if not js_truthy(contact):
        return ""
    parts = js_string(contact).split()
    return parts[0] if parts else ""


def _cuisine(restaurant: Mapping[str, Any], _: Today) -> str:
    value = restaurant.get("cuisine")
    if isinstance(value, list | tuple):
        return ", ".join("" if item is None else js_string(item) for item in value)
    return js_string(value) if js_truthy(value) else ""


def _lead_stage(restaurant: Mapping[str, Any], _: Today) -> str:
    value = restaurant.get("lead_stage")
    return js_string(value).replace("_", " ") if js_truthy(value) else ""


CATALOGUE: dict[str, Rule] = {
    "restaurant_name": _column("name"),
    "restaurant_email": _column("email"),
    "restaurant_phone": _column("phone"),
    "restaurant_address": _column("address"),
    "restaurant_website": _column("website"),
    "city": _column("city"),
    "contact_name": _column("contact_name"),
    "first_name": Rule(("contact_name",), _first_name),
    "contact_email": _column("contact_email"),
    "contact_phone": _column("contact_phone"),
    "contact_role": _column("contact_role"),
    "organisation_name": _column("organisation_name"),
    "cuisine": Rule(("cuisine",), _cuisine),
    "opening_hours_text": _column("opening_hours_text"),
    "lead_stage": Rule(("lead_stage",), _lead_stage),
    "lead_warmth": _column("lead_warmth"),
    "lead_status": _column("lead_status"),
    "icp_rating": _column("icp_rating"),
    "demo_store_url": _column("demo_store_url"),
    "demo_store_built": _with("demo_store_built", lambda v: "Yes" if js_truthy(v) else "No"),
    "subdomain": _column("subdomain"),
    "ubereats_url": _column("ubereats_url"),
    "doordash_url": _column("doordash_url"),
    "instagram_url": _column("instagram_url"),
    "facebook_url": _column("facebook_url"),
    "number_of_venues": _column("number_of_venues"),
    "point_of_sale": _column("point_of_sale"),
    "online_ordering_platform": _column("online_ordering_platform"),
    "online_ordering_handles_delivery": _with("online_ordering_handles_delivery", format_boolean),
    "self_delivery": _with("self_delivery", format_boolean),
    "weekly_uber_sales_volume": _with(
        "weekly_uber_sales_volume", lambda v: format_number(v, "orders")
    ),
    "uber_aov": _with("uber_aov", format_currency),
    "uber_markup": _with("uber_markup", format_percentage),
    "uber_profitability": _with("uber_profitability", format_percentage),
    "uber_profitability_description": _column("uber_profitability_description"),
    "current_marketing_description": _column("current_marketing_description"),
    "qualification_details": _column("details"),
    "painpoints": _with("painpoints", format_list),
    "core_selling_points": _with("core_selling_points", format_list),
    "features_to_highlight": _with("features_to_highlight", format_list),
    "possible_objections": _with("possible_objections", format_list),
    "meeting_link": _column("meeting_link"),
    "website_type": _with("website_type", format_website_type),
    "last_contacted_day": Rule(
        ("last_contacted",), lambda r, t: format_relative_day(r.get("last_contacted"), t)
    ),
    "today": Rule((), lambda _, t: short_date(t.date)),
    "current_date": Rule((), lambda _, t: long_date(t.date)),
    "current_year": Rule((), lambda _, t: str(t.date.year)),
}
assert tuple(CATALOGUE) == KNOWN_VARIABLES

# every restaurants column a variable reads (besides id), in catalogue order
RESTAURANT_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(column for rule in CATALOGUE.values() for column in rule.columns)
)


def missing_columns(variables: Collection[str], available: Collection[str]) -> dict[str, str]:
    """variable -> the first restaurants column it needs that ``available`` lacks."""
    found: dict[str, str] = {}
    for name in variables:
        rule = CATALOGUE.get(name)
        lacking = [c for c in rule.columns if c not in available] if rule else []
        if lacking:
            found[name] = lacking[0]
    return found


# -- rendering -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledMessage:
    """A message split into literal text and known variables (unknown ones stay literal)."""

    text: str
    parts: tuple[tuple[bool, str], ...]  # (is_variable, literal text or variable name)

    @property
    def variables(self) -> tuple[str, ...]:
        """The known variables used, in order of first use."""
        return tuple(dict.fromkeys(name for is_var, name in self.parts if is_var))

    def render(self, values: Mapping[str, str | None]) -> str:
        if not self.variables:
            return self.text
        return "".join((values.get(part) or "") if is_var else part for is_var, part in self.parts)

    def empty_variables(self, values: Mapping[str, str | None]) -> list[str]:
        """The known variables of this message that would render empty."""
        return [name for name in self.variables if not values.get(name)]


def compile_message(message: str, declared: Collection[str] = ()) -> CompiledMessage:
    """``message`` split into text and the variables of the catalogue or ``declared``."""
    parts: list[tuple[bool, str]] = []
    position = 0
    for variable in find_variables(message):
        if not is_known(variable.name, declared):
            continue
        if variable.start > position:
            parts.append((False, message[position : variable.start]))
        parts.append((True, variable.name))
        position = variable.end
    if position < len(message):
        parts.append((False, message[position:]))
    return CompiledMessage(message, tuple(parts))


def render(message: str, values: Mapping[str, str | None]) -> str:
    """``message`` with its known variables replaced by ``values`` (missing → empty)."""
    return compile_message(message, [k for k in values if k not in CATALOGUE]).render(values)


def variable_values(
    restaurant: Mapping[str, Any],
    *,
    today: Today,
    declared: Declared | None = None,
    only: Collection[str] | None = None,
) -> dict[str, str]:
    """The value of every variable for one restaurant.

    ``restaurant`` maps the restaurants columns that exist to their values: a variable
    whose column is absent from it renders empty. ``declared``: the organisation's
    declared variables, computed from the catalogue values. ``only``: just these catalogue
    variables (when no declared variable needs the others), for speed.
    """
    rules = CATALOGUE if only is None else {n: CATALOGUE[n] for n in only if n in CATALOGUE}
    values = {
        name: rule.format(restaurant, today) if all(c in restaurant for c in rule.columns) else ""
        for name, rule in rules.items()
    }
    if declared is not None:
        values.update(declared.values(values))
    return values

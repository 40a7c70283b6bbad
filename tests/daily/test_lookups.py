"""`seqctl restaurants [SEARCH]`, `seqctl templates`, `seqctl users` (spec §8), and
did-you-mean hints for restaurant names (case, accents and apostrophes ignored)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from seqctl.suggest import did_you_mean, fold

from ..conftest import Result
from ..db.sequences_helpers import FOGON, LUIGI, SAM, S, make_template

Cli = Callable[..., Result]


@pytest.fixture
def seq(database_url: str, engine: Engine, demo_org: str, cli: Cli) -> Cli:
    make_template(engine, demo_org, "Onboarding", [S("Call"), S("Mail", 2)], key="onboarding")
    make_template(engine, demo_org, "Web app made", [S("Call")])

    def run(*args: str) -> Result:
        return cli("--database-url", database_url, *args)

    return run


def test_fold_and_hints() -> None:
    assert fold("Luigi’s TRATTORIA") == fold("luigis trattoria") == "luigis trattoria"
    assert fold("El Fogón") == "el fogon"
    assert did_you_mean("el fogon", ["El Fogón", "Spice Route"], "-") == "did you mean 'El Fogón'?"


def test_restaurants_list_and_search(seq: Cli) -> None:
    assert seq("apply", "-t", "onboarding", "-r", LUIGI).exit_code == 0
    listing = seq("restaurants")
    assert listing.exit_code == 0, listing.stderr
    assert listing.stdout.splitlines()[0].split() == ["RESTAURANT", "CITY", "ID", "RUNNING"]
    luigi = next(x for x in listing.stdout.splitlines() if x.startswith("Luigi"))
    assert LUIGI[:8] in luigi and luigi.rstrip().endswith("1")
    found = seq("restaurants", "fogon")  # accents ignored
    assert [x.split()[0] for x in found.stdout.splitlines()[1:]] == ["El"]
    assert FOGON[:8] in found.stdout
    assert "Luigi's Trattoria" in seq("restaurants", "LUIGIS").stdout  # apostrophe ignored
    document = json.loads(seq("restaurants", LUIGI[:7], "--format", "json").stdout)
    assert [r["id"] for r in document["restaurants"]] == [LUIGI]
    assert document["restaurants"][0]["running"] == 1
    none = seq("restaurants", "luigis trattorai")
    assert none.exit_code == 1 and 'did you mean "Luigi\'s Trattoria"?' in none.stderr


def test_restaurant_not_found_gets_a_hint(seq: Cli) -> None:
    result = seq("status", "--restaurant", "luigis trattoria")
    assert result.exit_code == 1
    assert 'did you mean "Luigi\'s Trattoria"?' in result.stderr
    applied = seq("apply", "-t", "onboarding", "-r", "el fogon", "--format", "json")
    [outcome] = json.loads(applied.stdout)["results"]
    assert outcome["result"] == "restaurant_not_found"
    assert "did you mean 'El Fogón'?" in outcome["message"]


def test_templates_and_users(seq: Cli) -> None:
    assert seq("apply", "-t", "onboarding", "-r", LUIGI).exit_code == 0
    listing = seq("templates")
    assert listing.exit_code == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split()[:5] == ["KEY", "NAME", "MANAGED", "ACTIVE", "STEPS"]
    onboarding = next(x for x in lines if x.startswith("onboarding"))
    assert onboarding.split()[1:6] == ["Onboarding", "yes", "yes", "2", "1"]
    web = next(x for x in lines if "Web app made" in x)
    assert web.split()[0] == "-" and " no " in web
    document = json.loads(seq("templates", "--format", "json").stdout)
    assert {t["name"]: t["running"] for t in document["templates"]} == {
        "Onboarding": 1,
        "Web app made": 0,
    }
    users = seq("users")
    assert users.exit_code == 0 and "sam@demo.example" in users.stdout and SAM[:8] in users.stdout
    ids = [u["id"] for u in json.loads(seq("users", "--format", "json").stdout)["users"]]
    assert SAM in ids


def test_close_matches_compares_by_key_and_gives_the_name() -> None:
    from seqctl.suggest import close_matches

    assert close_matches("DELAY_VALEU", ["delay_value", "delay_unit"], key=str.lower) == [
        "delay_value",
        "delay_unit",
    ]
    assert close_matches("el fogon", ["El Fogón", "el fogón"], key=fold) == ["El Fogón"]
    assert close_matches("--formt", ["--format", "--force", "--from"], most=1) == ["--format"]
    assert close_matches("zzz", ["delay_value"]) == []

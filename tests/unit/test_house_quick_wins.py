"""Issue 10: one definition of each default, a step's message compiled once, lifecycle by table,
one JSON-path parser, one canonical JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqctl import config
from seqctl.cli import sync_commands
from seqctl.runtime.steps import Step
from seqctl.sync.apply_plan import PlanOptions, SyncOptions
from seqctl.templates import files


def step(message: str | None) -> Step:
    return Step(1, "id", 1, "Intro", None, "call", "high", None, None, message, 0, "days")


def test_a_steps_message_is_compiled_once() -> None:
    first = step("Hi {first_name}")
    assert first.compiled is first.compiled is not None
    assert step(None).compiled is None


def test_defaults_are_defined_once() -> None:
    assert files.DEFAULT_PATH is config.DEFAULT_PATH == "sequences"
    assert sync_commands.DEFAULT_PATH == Path(config.DEFAULT_PATH)
    assert SyncOptions().lock_timeout == config.DEFAULT_LOCK_TIMEOUT == 60.0
    assert config.Settings().timezone == config.DEFAULT_TIMEZONE
    assert issubclass(SyncOptions, PlanOptions)


def test_lifecycle_commands_and_functions_come_from_one_table() -> None:
    from seqctl.cli.instance_commands import LIFECYCLE_HELP
    from seqctl.runtime import lifecycle

    assert LIFECYCLE_HELP == {name: rule.summary for name, rule in lifecycle.RULES.items()}
    for name, rule in lifecycle.RULES.items():
        function = getattr(lifecycle, name)
        assert (function.__name__, function.__doc__) == (name, rule.summary)


def test_a_location_walks_up_quoted_keys_with_dots_and_brackets() -> None:
    from seqctl.templates.spec import Location, TemplateSpec

    at = {
        "$": Location("t.yaml", 1, 1),
        "$.metadata": Location("t.yaml", 5, 1),
        "$.metadata['a.b']": Location("t.yaml", 6, 3),
    }
    spec = TemplateSpec("k", "Name", (), source="t.yaml", locations=at)
    assert spec.location("$.metadata['a.b']") == at["$.metadata['a.b']"]
    assert spec.location("$.metadata['a.b'].c[2]") == at["$.metadata['a.b']"]
    assert spec.location("$.metadata['x.y[0]']") == at["$.metadata"]
    assert spec.location("$.metadata['it\\'s.z']") == at["$.metadata"]
    assert spec.location("$.steps[3].name") == at["$"]
    assert TemplateSpec("k", "Name", (), source="t.yaml").location("") == Location("t.yaml", 1, 1)


def test_one_canonical_json_for_digests_and_signatures() -> None:
    from decimal import Decimal

    from seqctl.sync.actual import signature
    from seqctl.templates.spec import canonical_json, content_digest

    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'
    assert canonical_json(Decimal("1.5")) != canonical_json("1.5")
    assert signature({"x": 2.450409839656763e16}) == signature({"x": 24504098396567630})
    assert content_digest({"a": 1}).startswith("sha256:")


class _Terminal:
    def isatty(self) -> bool:
        return True


def test_no_color_turns_colours_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from seqctl.cli.app import colour_for

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert colour_for(_Terminal()) is True  # type: ignore[arg-type]
    monkeypatch.setenv("NO_COLOR", "1")
    assert colour_for(_Terminal()) is False  # type: ignore[arg-type]
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("CI", "true")
    assert colour_for(_Terminal()) is False  # type: ignore[arg-type]

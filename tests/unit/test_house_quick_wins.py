"""Issue 10's quick wins: one definition of each default, a step's message compiled once."""

from __future__ import annotations

from pathlib import Path

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

"""The html report's charts drawn on two processes: the same page as drawn on one, whatever
the forked copy does, and no fork where one would not be safe."""

from __future__ import annotations

import os
import threading
from datetime import UTC, date, datetime

import pytest

from seqctl.runtime import report_formats
from seqctl.runtime.report import (
    AssigneeLoad,
    Period,
    Report,
    StepFunnel,
    TemplateReport,
    Week,
)
from seqctl.templates.spec import Organisation

pytest.importorskip("matplotlib")


def sample(templates: int = 5) -> Report:
    found = []
    for n in range(templates):
        template = TemplateReport(f"t{n}", f"Template {n}", f"t-{n}", True, 10, 4, 1, 4, 1)
        template.steps = [
            StepFunnel(k, f"Step {k}", 10 - k, 8 - k, 1, 0, 1, k % 2, 3600.0, 7200.0, 0)
            for k in range(1, 4)
        ]
        found.append(template)
    return Report(
        Organisation("o", "Org"),
        Period(date(2026, 11, 2), date(2026, 11, 29), "UTC"),
        datetime(2026, 11, 29, 12, tzinfo=UTC),
        [],
        None,
        found,
        [AssigneeLoad("u", "sam@example.test", "Sam", 3, 1, 7)],
        [Week(date(2026, 11, 2 + 7 * k), 3, 1, 0) for k in range(4)],
    )


def one_process(monkeypatch: pytest.MonkeyPatch, report: Report) -> str:
    with monkeypatch.context() as patched:
        patched.setattr(report_formats.os, "cpu_count", lambda: 1)
        patched.setattr(report_formats.os, "fork", _no_fork)
        return report_formats.render_html(report)


def _no_fork() -> int:
    raise AssertionError("drawn on one process, no fork")


def test_two_processes_draw_the_page_one_process_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    report = sample()
    forks: list[int] = []
    real_fork = os.fork

    def counted_fork() -> int:
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(report_formats.os, "fork", counted_fork)
    monkeypatch.setattr(report_formats.os, "cpu_count", lambda: 2)
    if report_formats.sys.platform != "linux":
        pytest.skip("charts are drawn on two processes on Linux only")
    page = report_formats.render_html(report)
    assert len(forks) == 1
    assert page == one_process(monkeypatch, report)
    assert page.count("<svg") == 5 + 2  # a funnel per template, the workload, the weeks


def test_what_the_copy_does_not_hand_back_is_drawn_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy that fails half-way (here: every chart it draws raises) hands back nothing; this
    process draws those charts itself, and the page is whole."""
    if report_formats.sys.platform != "linux":
        pytest.skip("charts are drawn on two processes on Linux only")
    report = sample()
    parent = os.getpid()
    real = report_formats._funnel_chart

    def fails_in_the_copy(template: TemplateReport) -> str:
        if os.getpid() != parent:
            raise RuntimeError("the copy fails")
        return real(template)

    monkeypatch.setattr(report_formats.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(report_formats, "_funnel_chart", fails_in_the_copy)
    page = report_formats.render_html(report)
    monkeypatch.setattr(report_formats, "_funnel_chart", real)
    assert page == one_process(monkeypatch, report)


def test_no_fork_with_another_thread_running(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fork copies only the calling thread: with another one running, one process draws."""
    report = sample()
    monkeypatch.setattr(report_formats.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(report_formats.os, "fork", _no_fork)
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        page = report_formats.render_html(report)
    finally:
        release.set()
        other.join()
    assert page.count("<svg") == 7


def test_few_charts_are_drawn_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_formats.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(report_formats.os, "fork", _no_fork)
    assert report_formats.render_html(sample(templates=1)).count("<svg") == 3

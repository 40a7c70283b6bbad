"""The report (``report.Report``) as text, json, markdown and a self-contained html page.

All four show the same figures, formatted by the same helpers (``duration``, ``percent``).
Names are data: control characters are shown escaped in every format (§7 "text output is
inert"), markdown escapes its own syntax and html's, html escapes everything it shows.
matplotlib is imported only by ``render_html`` (it is an optional extra: ``report``).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import html
import json
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..inert import inert
from .report import AssigneeLoad, Report, StepFunnel, TemplateReport

BAR_WIDTH = 20
UNASSIGNED = "(unassigned)"
MATPLOTLIB_HINT = (
    "install the report extra: pip install 'seqctl[report]' (or pip install matplotlib)"
)

# -- shared formatting -----------------------------------------------------------------


def duration(seconds: float | None) -> str:
    """A duration to the minute: ``45m``, ``3h 20m``, ``2d 4h``; ``-`` when there is none."""
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    minutes = round(abs(seconds) / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h" if hours else f"{sign}{days}d"
    if hours:
        return f"{sign}{hours}h {mins}m" if mins else f"{sign}{hours}h"
    return f"{sign}{mins}m" if mins else "0m"


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def count(value: int | None) -> str:
    return "-" if value is None else str(value)


def assignee_label(load: AssigneeLoad) -> str:
    if load.user_id is None:
        return UNASSIGNED
    return load.email or load.name or load.user_id


def template_label(template: TemplateReport) -> str:
    key = f" ({template.key})" if template.key else ""
    return f"{template.name}{key}{'' if template.is_active else ' [inactive]'}"


def when(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")


def period_label(report: Report) -> str:
    p = report.period
    return f"{p.since.isoformat()} to {p.until.isoformat()} ({p.timezone})"


def fallback_note(report: Report) -> str | None:
    n = report.wait_fallback
    if not n:
        return None
    return (
        f"{n} waited time{'s' if n != 1 else ''} rest{'s' if n == 1 else ''} on due dates: "
        "tasks activated before seqctl recorded activation times"
    )


STEP_COLUMNS = (
    "step",
    "name",
    "reached",
    "completed",
    "skipped",
    "cancelled",
    "open",
    "overdue",
    "due to done",
    "waited",
    "drop-off",
)


def step_cells(step: StepFunnel) -> list[str]:
    if step.drop_off is None:
        drop = "-"
    elif step.drop_off_rate is None:  # nobody has left the previous step yet
        drop = str(step.drop_off)
    else:
        drop = f"{step.drop_off} ({percent(step.drop_off_rate)})"
    return [
        str(step.order),
        step.name,
        str(step.reached),
        str(step.completed),
        str(step.skipped),
        str(step.cancelled),
        str(step.open),
        str(step.overdue),
        duration(step.median_due_to_done),
        duration(step.median_waited),
        drop,
    ]


def template_summary(t: TemplateReport) -> list[tuple[str, str]]:
    return [
        ("started", str(t.started)),
        ("active", str(t.active)),
        ("paused", str(t.paused)),
        ("completed", str(t.completed)),
        ("cancelled", str(t.cancelled)),
        ("completion rate", percent(t.completion_rate)),
        ("median time to complete", duration(t.median_time_to_complete)),
        ("p90 time to complete", duration(t.p90_time_to_complete)),
    ]


# -- json ------------------------------------------------------------------------------


def report_json(report: Report) -> dict[str, Any]:
    """Every figure of the report (durations in seconds, rates as fractions)."""
    p = report.period
    return {
        "organisation": {"id": report.organisation.id, "name": report.organisation.name},
        "generated_at": report.generated_at.isoformat(),
        "period": {
            "since": p.since.isoformat(),
            "until": p.until.isoformat(),
            "timezone": p.timezone,
        },
        "filters": {"templates": report.template_filter, "assigned_to": report.assigned_to},
        "wait_fallback": report.wait_fallback,
        "templates": [
            {
                "id": t.id,
                "key": t.key,
                "name": t.name,
                "is_active": t.is_active,
                "started": t.started,
                "active": t.active,
                "paused": t.paused,
                "completed": t.completed,
                "cancelled": t.cancelled,
                "completion_rate": t.completion_rate,
                "median_time_to_complete_seconds": t.median_time_to_complete,
                "p90_time_to_complete_seconds": t.p90_time_to_complete,
                "steps": [
                    {
                        "order": s.order,
                        "name": s.name,
                        "reached": s.reached,
                        "completed": s.completed,
                        "skipped": s.skipped,
                        "cancelled_with_instance": s.cancelled,
                        "open": s.open,
                        "overdue": s.overdue,
                        "median_due_to_done_seconds": s.median_due_to_done,
                        "median_waited_seconds": s.median_waited,
                        "wait_fallback": s.wait_fallback,
                        "drop_off": s.drop_off,
                        "drop_off_rate": s.drop_off_rate,
                    }
                    for s in t.steps
                ],
            }
            for t in report.templates
        ],
        "assignees": [
            {
                "user_id": a.user_id,
                "email": a.email,
                "name": a.name,
                "open": a.open,
                "overdue": a.overdue,
                "completed": a.completed,
            }
            for a in report.assignees
        ],
        "weeks": [
            {
                "start": w.start.isoformat(),
                "starts": w.starts,
                "completions": w.completions,
                "cancellations": w.cancellations,
            }
            for w in report.weeks
        ],
    }


# -- text ------------------------------------------------------------------------------


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, value: str, code: str) -> str:
        return f"\x1b[{code}m{value}\x1b[0m" if self.color else value


def bar(value: int, largest: int, width: int = BAR_WIDTH) -> str:
    """A bar of ``value`` out of ``largest`` in eighths of a character cell."""
    if largest <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / largest * width * 8))
    full, part = divmod(eighths, 8)
    return "█" * full + ("" if not part else " ▏▎▍▌▋▊▉"[part])


def _table(header: list[str], rows: list[list[str]], numeric: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(header), *(line(r) for r in rows)]


def render_text(report: Report, *, color: bool = False) -> str:
    style = _Style(color)
    zone = report.period.timezone
    lines = [
        style(f"Report: {inert(report.organisation.name)}", "1"),
        f"period {period_label(report)}, as of {when(report.generated_at, zone)}",
    ]
    note = fallback_note(report)
    if note:
        lines.append(f"note: {note}")
    if not report.templates:
        lines += ["", "no templates with instances in the period"]
    for t in report.templates:
        lines += ["", style(inert(template_label(t)), "1")]
        summary = template_summary(t)
        lines.append("  " + "  ".join(f"{k} {v}" for k, v in summary[:5]))
        lines.append("  " + "  ".join(f"{k} {v}" for k, v in summary[5:]))
        if not t.steps:
            continue
        largest = max(s.reached for s in t.steps)
        rows = []
        for s in t.steps:
            cells = [inert(c) for c in step_cells(s)]
            cells.insert(3, style(bar(s.reached, largest).ljust(BAR_WIDTH), "36"))
            if s.overdue:
                cells[8] = style(cells[8], "31")
            rows.append(cells)
        header = [c.upper() for c in STEP_COLUMNS]
        header.insert(3, "")
        lines.append("")
        lines += ["  " + x for x in _table(header, rows, {0, 2, 4, 5, 6, 7, 8, 9, 10, 11})]
    lines += ["", style("Workload (open and overdue now, completed in the period)", "1")]
    if report.assignees:
        largest = max(a.open for a in report.assignees)
        rows = [
            [
                inert(assignee_label(a)),
                str(a.open),
                style(bar(a.open, largest).ljust(BAR_WIDTH), "36"),
                style(str(a.overdue), "31") if a.overdue else "0",
                str(a.completed),
            ]
            for a in report.assignees
        ]
        header = ["ASSIGNEE", "OPEN", "", "OVERDUE", "COMPLETED"]
        lines += ["  " + x for x in _table(header, rows, {1, 3, 4})]
    else:
        lines.append("  no open or completed tasks")
    lines += ["", style("Weekly", "1")]
    largest = max([w.starts for w in report.weeks] + [0])
    rows = [
        [
            f"{w.start.isoformat()}",
            str(w.starts),
            style(bar(w.starts, largest).ljust(BAR_WIDTH), "36"),
            str(w.completions),
            str(w.cancellations),
        ]
        for w in report.weeks
    ]
    header = ["WEEK OF", "STARTS", "", "COMPLETIONS", "CANCELLATIONS"]
    lines += ["  " + x for x in _table(header, rows, {1, 3, 4})]
    return "\n".join(lines) + "\n"


# -- markdown --------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md(value: str) -> str:
    """Text for a markdown table cell: inert, no markdown, no html, on one line."""
    value = inert(value)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", value)


def _md_table(header: list[str], rows: list[list[str]], numeric: set[int]) -> list[str]:
    align = ["---:" if i in numeric else "---" for i in range(len(header))]
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(align) + " |",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def render_markdown(report: Report) -> str:
    zone = report.period.timezone
    lines = [
        f"## Sequence report: {md(report.organisation.name)}",
        "",
        f"Period {md(period_label(report))}, as of {md(when(report.generated_at, zone))}.",
    ]
    note = fallback_note(report)
    if note:
        lines += ["", f"_Note: {md(note)}._"]
    lines += ["", "| template | " + " | ".join(k for k, _ in template_summary_header()) + " |"]
    lines.append("| --- |" + " ---: |" * len(template_summary_header()))
    for t in report.templates:
        values = " | ".join(v for _, v in template_summary(t))
        lines.append(f"| {md(template_label(t))} | {values} |")
    for t in report.templates:
        if not t.steps:
            continue
        lines += ["", f"### {md(template_label(t))}", ""]
        lines += _md_table(
            list(STEP_COLUMNS),
            [[md(c) for c in step_cells(s)] for s in t.steps],
            {0, 2, 3, 4, 5, 6, 7, 8, 9, 10},
        )
    lines += ["", "### Workload", ""]
    lines += _md_table(
        ["assignee", "open", "overdue", "completed"],
        [
            [md(assignee_label(a)), str(a.open), str(a.overdue), str(a.completed)]
            for a in report.assignees
        ],
        {1, 2, 3},
    )
    lines += ["", "### Weekly", ""]
    lines += _md_table(
        ["week of", "starts", "completions", "cancellations"],
        [
            [w.start.isoformat(), str(w.starts), str(w.completions), str(w.cancellations)]
            for w in report.weeks
        ],
        {1, 2, 3},
    )
    return "\n".join(lines) + "\n"


def template_summary_header() -> list[tuple[str, str]]:
    return [
        ("started", ""),
        ("active", ""),
        ("paused", ""),
        ("completed", ""),
        ("cancelled", ""),
        ("completion rate", ""),
        ("median time to complete", ""),
        ("p90 time to complete", ""),
    ]


# -- html ------------------------------------------------------------------------------


def h(value: str) -> str:
    """Text for html: inert and escaped (quotes too), so no name can become markup."""
    return html.escape(inert(value), quote=True)


_CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --accent: #2f6f9f; --warn: #b4432d; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  margin: 0 auto; padding: 24px 32px; max-width: 1180px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-top: 8px; border-top: 2px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta, .note { color: var(--muted); margin: 0 0 4px; }
.note { color: var(--warn); }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 10px 0 4px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; min-width: 92px; }
.card b { display: block; font-size: 18px; }
.card span { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; margin: 8px 0 12px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; }
th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; }
td.n, th.n { text-align: right; }
td.warn { color: var(--warn); font-weight: 600; text-align: right; }
.chart svg { max-width: 100%; height: auto; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; align-items: start; }
@media (max-width: 900px) { .grid { grid-template-columns: 1fr; } }
@media print { body { padding: 0; max-width: none; } h2 { break-before: auto; }
  .template, .chart, table { break-inside: avoid; } }
"""

COLORS = {"reached": "#9fb3c8", "completed": "#2f6f9f", "open": "#f0b429", "overdue": "#b4432d"}


def _svg(figure: Any) -> str:
    import io

    buffer = io.StringIO()
    # no metadata block: no creator URL, no date (the same data gives the same page)
    blank = {"Date": None, "Creator": None, "Format": None, "Type": None}
    # fixed margins (see _margins), not bbox_inches="tight": that draws every chart twice
    figure.savefig(buffer, format="svg", metadata=blank)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]  # inline: without the XML declaration and doctype


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=96)
    return figure


def _margins(figure: Any, labels: list[str], *, bottom: float = 0.45) -> None:
    """Room for the bar labels on the left and the axis label below (inches)."""
    width, height = figure.get_size_inches()
    longest = max((len(label) for label in labels), default=0)
    left = min(0.55, (longest * 0.075 + 0.2) / width)  # about 0.075 in a character at 9 pt
    figure.subplots_adjust(
        left=max(left, 0.08), right=0.97, bottom=bottom / height, top=1 - 0.35 / height
    )


def _legend_above(ax: Any, handles: list[Any]) -> None:
    """The legend in one row above the bars, never over them."""
    ax.legend(
        handles=handles,
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        ncols=3,
        fontsize=8,
        frameon=False,
        borderaxespad=0.2,
    )


def _bars(
    ax: Any,
    widths: list[int],
    color: str,
    label: str,
    lefts: list[int] | None = None,
    height: float = 0.8,
) -> Any:
    """Horizontal bars, one per row from the top, as one ``PolyCollection``; the legend entry.

    One collection per series instead of ``barh``'s patch per bar: the same picture in a
    third of the time (a bar chart per template adds up on a large organisation).
    """
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    starts = lefts or [0] * len(widths)
    half = height / 2
    ax.add_collection(
        PolyCollection(
            [
                [(x, y - half), (x + w, y - half), (x + w, y + half), (x, y + half)]
                for y, (x, w) in enumerate(zip(starts, widths, strict=True))
                if w > 0
            ],
            facecolors=color,
            edgecolors="none",
            linewidths=0,
        )
    )
    return Patch(facecolor=color, label=label)


def _bar_axes(ax: Any, labels: list[str], largest: int) -> None:
    """Rows labelled from the top, the count axis from 0 to a little past the longest bar.

    The row labels are plain texts left of the axes, not tick labels: a tick is five
    artists (three lines, two texts), drawn and measured for every row of every chart.
    """
    from matplotlib.transforms import offset_copy

    ax.set_xlim(0, max(largest, 1) * 1.05)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_yticks([])
    beside = offset_copy(ax.get_yaxis_transform(), fig=ax.figure, x=-5, units="points")
    for row, label in enumerate(labels):
        ax.text(0, row, label, transform=beside, ha="right", va="center", fontsize=9)


@contextlib.contextmanager
def _without_gc() -> Iterator[None]:
    """No cyclic garbage collection while the charts are drawn.

    matplotlib makes tens of thousands of small objects per chart; the collector's passes
    over them cost about a fifth of the drawing. The garbage is collected after, as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def preload() -> threading.Thread | None:
    """Import matplotlib in a background thread (while the report's queries run)."""

    def load() -> None:
        try:
            from matplotlib.backends import backend_svg  # noqa: F401
            from matplotlib.figure import Figure  # noqa: F401
            from matplotlib.font_manager import FontProperties, fontManager

            # a list: a lone str is read as a fontconfig pattern, which "sans-serif" is not
            fontManager.findfont(FontProperties(family=["sans-serif"]))
        except Exception:  # noqa: BLE001  (render_html reports what is missing)
            return

    thread = threading.Thread(target=load, name="seqctl-matplotlib", daemon=True)
    thread.start()
    return thread


Job = tuple[str, Callable[[], str]]  # a chart's key, and what draws it (as SVG)


def _chart_jobs(report: Report) -> list[Job]:
    """The page's charts: a funnel per template with steps, the workload, the weeks."""
    jobs: list[Job] = [
        (f"funnel {t.id}", functools.partial(_funnel_chart, t)) for t in report.templates if t.steps
    ]
    if report.assignees:
        jobs.append(("workload", functools.partial(_workload_chart, report.assignees)))
    if report.weeks:
        jobs.append(("weekly", functools.partial(_weekly_chart, report)))
    return jobs


def _draw(jobs: list[Job]) -> dict[str, str]:
    """Every chart, by key: on two processes where that is safe, each drawing every other.

    Drawing is matplotlib's pure-Python work (about 25 ms a chart) and the last thing the
    command does: a forked copy of this process draws half the charts on the second core
    and hands their SVG back through a pipe. Only on Linux, with more than one core, and in
    a process with no other thread running (a fork copies only the calling thread: a lock
    another thread held would stay locked in the copy). Whatever the copy does not hand
    back whole, this process draws itself: the page is the same either way.
    """
    if (
        len(jobs) < 4
        or sys.platform != "linux"
        or (os.cpu_count() or 1) < 2
        or threading.active_count() > 1
    ):
        return {key: draw() for key, draw in jobs}
    theirs, mine = jobs[1::2], jobs[0::2]
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the copy: draw, hand back, and leave without running any cleanup
        code = 1
        try:
            os.close(reader)
            with os.fdopen(writer, "wb") as out:
                out.write(json.dumps({key: draw() for key, draw in theirs}).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(writer)
    drawn = {key: draw() for key, draw in mine}
    with os.fdopen(reader, "rb") as handed:
        data = handed.read()
    _, status = os.waitpid(pid, 0)
    received: dict[str, str] = {}
    if status == 0:
        with contextlib.suppress(ValueError):
            received = json.loads(data)
    for key, draw in theirs:
        value = received.get(key)
        drawn[key] = value if isinstance(value, str) else draw()
    return drawn


def _funnel_chart(template: TemplateReport) -> str:
    steps = template.steps
    figure = _figure(6.4, 0.42 * len(steps) + 0.9)
    ax = figure.add_subplot()
    labels = [_label(f"{s.order}. {s.name}") for s in steps]
    completed = [s.completed for s in steps]
    handles = [
        _bars(ax, [s.reached for s in steps], COLORS["reached"], "reached"),
        _bars(ax, completed, COLORS["completed"], "completed"),
        _bars(ax, [s.overdue for s in steps], COLORS["overdue"], "overdue now", completed),
    ]
    _bar_axes(ax, labels, max(max(s.reached, s.completed + s.overdue) for s in steps))
    ax.set_xlabel("tasks")
    _margins(figure, labels)
    _legend_above(ax, handles)
    _tidy(ax)
    return _svg(figure)


def _weekly_chart(report: Report) -> str:
    figure = _figure(6.4, 2.8)
    ax = figure.add_subplot()
    starts = [w.start for w in report.weeks]
    ax.plot(starts, [w.starts for w in report.weeks], marker="o", label="starts", color="#9fb3c8")
    ax.plot(
        starts,
        [w.completions for w in report.weeks],
        marker="o",
        label="completions",
        color=COLORS["completed"],
    )
    ax.plot(
        starts,
        [w.cancellations for w in report.weeks],
        marker="o",
        label="cancellations",
        color=COLORS["overdue"],
    )
    ax.set_ylabel("instances")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, frameon=False)
    figure.subplots_adjust(left=0.09, right=0.97, top=0.95)
    figure.autofmt_xdate(bottom=0.24)
    _tidy(ax, "y")
    return _svg(figure)


def _workload_chart(assignees: list[AssigneeLoad]) -> str:
    shown = assignees[:15]
    figure = _figure(6.4, 0.42 * len(shown) + 0.9)
    ax = figure.add_subplot()
    handles = [
        _bars(ax, [a.open for a in shown], COLORS["open"], "open"),
        _bars(ax, [a.overdue for a in shown], COLORS["overdue"], "overdue"),
    ]
    labels = [_label(assignee_label(a)) for a in shown]
    _bar_axes(ax, labels, max(a.open for a in shown))
    ax.set_xlabel("open tasks")
    _margins(figure, labels)
    _legend_above(ax, handles)
    _tidy(ax)
    return _svg(figure)


def _label(value: str, limit: int = 40) -> str:
    value = inert(value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _tidy(ax: Any, counts: str = "x") -> None:
    """Light axes; whole numbers on the axis of counts (``x`` or ``y``)."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=9)
    axis = ax.xaxis if counts == "x" else ax.yaxis
    axis.get_major_locator().set_params(integer=True)


def _html_table(header: list[str], rows: list[list[tuple[str, str]]]) -> str:
    numeric = {i for i, (c, _) in enumerate(rows[0]) if c} if rows else set()
    head = "".join(
        f'<th{" class=n" if i in numeric else ""} scope="col">{h(c)}</th>'
        for i, c in enumerate(header)
    )
    body = "".join(
        "<tr>" + "".join(f"<td{f' class={c}' if c else ''}>{h(v)}</td>" for c, v in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: Report) -> str:
    """One self-contained page: inline CSS and SVG charts, no script, no external reference."""
    try:
        import matplotlib
    except ImportError:
        from ..errors import UsageError

        raise UsageError(
            "--format html needs matplotlib, which is not installed", hint=MATPLOTLIB_HINT
        ) from None
    zone = report.period.timezone
    with (
        _without_gc(),
        matplotlib.rc_context(
            {
                "svg.fonttype": "none",  # text stays text (escaped by matplotlib), small files
                "svg.hashsalt": "seqctl-report",  # the same data gives the same page
                "text.parse_math": False,  # "$" in a name is a dollar sign
                "font.family": "sans-serif",
                "axes.titlesize": 10,
            }
        ),
    ):
        charts = _draw(_chart_jobs(report))
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>Sequence report: {h(report.organisation.name)}</title>",
            f"<style>{_CSS}</style></head><body>",
            f"<h1>Sequence report: {h(report.organisation.name)}</h1>",
            f'<p class="meta">Period {h(period_label(report))}, '
            f"as of {h(when(report.generated_at, zone))}.</p>",
        ]
        note = fallback_note(report)
        if note:
            parts.append(f'<p class="note">Note: {h(note)}.</p>')
        if not report.templates:
            parts.append("<p>No templates with instances in the period.</p>")
        else:
            parts.append(
                _html_table(
                    ["template", *(k for k, _ in template_summary_header())],
                    [
                        [("", template_label(t)), *(("n", v) for _, v in template_summary(t))]
                        for t in report.templates
                    ],
                )
            )
        for t in report.templates:
            parts.append(f'<section class="template"><h2>{h(template_label(t))}</h2>')
            parts.append(
                '<div class="cards">'
                + "".join(
                    f'<div class="card"><b>{h(v)}</b><span>{h(k)}</span></div>'
                    for k, v in template_summary(t)
                )
                + "</div>"
            )
            if t.steps:
                parts.append(f'<div class="chart">{charts[f"funnel {t.id}"]}</div>')
                rows = []
                for s in t.steps:
                    cells = step_cells(s)
                    rows.append(
                        [
                            ("warn" if i == 7 and s.overdue else ("" if i == 1 else "n"), v)
                            for i, v in enumerate(cells)
                        ]
                    )
                parts.append(_html_table(list(STEP_COLUMNS), rows))
            parts.append("</section>")
        parts.append('<h2>Workload and weekly activity</h2><div class="grid"><div>')
        parts.append("<h3>Workload: open and overdue now, completed in the period</h3>")
        if report.assignees:
            parts.append(f'<div class="chart">{charts["workload"]}</div>')
        parts.append(
            _html_table(
                ["assignee", "open", "overdue", "completed"],
                [
                    [
                        ("", assignee_label(a)),
                        ("n", str(a.open)),
                        ("warn" if a.overdue else "n", str(a.overdue)),
                        ("n", str(a.completed)),
                    ]
                    for a in report.assignees
                ],
            )
        )
        parts.append("</div><div><h3>Weekly: starts, completions, cancellations</h3>")
        if report.weeks:
            parts.append(f'<div class="chart">{charts["weekly"]}</div>')
        parts.append(
            _html_table(
                ["week of", "starts", "completions", "cancellations"],
                [
                    [
                        ("", w.start.isoformat()),
                        ("n", str(w.starts)),
                        ("n", str(w.completions)),
                        ("n", str(w.cancellations)),
                    ]
                    for w in report.weeks
                ],
            )
        )
        parts.append("</div></div>")
        parts.append(
            '<p class="meta">Made by seqctl report. Durations: median and 90th percentile; '
            "“due to done” is completion minus due date (negative: early); “waited” is "
            "completion minus activation.</p></body></html>"
        )
    return "\n".join(parts) + "\n"

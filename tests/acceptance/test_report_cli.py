"""`seqctl report` through the real entry point: the same numbers in every format, a
self-contained html page with charts, hostile names inert everywhere, exit codes."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from seqctl.runtime.report_formats import duration, percent

from ..conftest import ROOT, Result
from ..db.report_scenario import Scenario, assert_matches, build, expected
from ..db.sequences_helpers import ALEX, SAM, S, demo_organisation, make_template, runtime_context

Cli = Callable[..., Result]

HOSTILE = "<script>alert('x')</script>\x1b[31mRED\x1b]8;;http://evil.example\x07\x9b2J"


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def scenario(engine: Engine, demo_org: str, now: datetime) -> Scenario:
    return build(engine, demo_org, now)


@pytest.fixture
def seq(database_url: str, cli: Cli) -> Cli:
    def run(*args: str) -> Result:
        return cli("--database-url", database_url, *args)

    return run


def period(scenario: Scenario) -> tuple[date, date]:
    return scenario.t0.date(), scenario.now.date() + timedelta(days=2)


def report_args(scenario: Scenario, *more: str) -> list[str]:
    since, until = period(scenario)
    return ["report", "--since", since.isoformat(), "--until", until.isoformat(), *more]


def as_json(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["format_version"] == "1"
    return dict(document)


def step_cells(step: dict[str, Any]) -> list[str]:
    """A step's row as every format shows it, from the JSON figures."""
    if step["drop_off"] is None:
        drop = "-"
    elif step["drop_off_rate"] is None:
        drop = str(step["drop_off"])
    else:
        drop = f"{step['drop_off']} ({percent(step['drop_off_rate'])})"
    return [
        str(step["order"]),
        step["name"],
        *(
            str(step[k])
            for k in ("reached", "completed", "skipped", "cancelled_with_instance", "open")
        ),
        str(step["overdue"]),
        duration(step["median_due_to_done_seconds"]),
        duration(step["median_waited_seconds"]),
        drop,
    ]


def summary_cells(template: dict[str, Any]) -> list[str]:
    return [
        *(str(template[k]) for k in ("started", "active", "paused", "completed", "cancelled")),
        percent(template["completion_rate"]),
        duration(template["median_time_to_complete_seconds"]),
        duration(template["p90_time_to_complete_seconds"]),
    ]


class Page(HTMLParser):
    """The parsed page: tags, attributes, table rows, text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[list[str]] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "style":
            self._in_style = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._in_style:
            self.style += data


def parse(document: str) -> Page:
    page = Page()
    page.feed(document)
    page.close()
    return page


def text_rows(output: str) -> list[str]:
    """Text lines with the bars taken out and whitespace normalised."""
    bars = re.compile("[█▏▎▍▌▋▊▉]")
    return [" ".join(bars.sub("", line).split()) for line in output.splitlines()]


def test_same_numbers_in_every_format(
    seq: Cli, engine: Engine, demo_org: str, scenario: Scenario, tmp_path: Path
) -> None:
    got = as_json(seq(*report_args(scenario, "--format", "json")))
    since, until = period(scenario)
    want = expected(
        engine,
        demo_org,
        since=since,
        until=until,
        timezone="UTC",
        now=datetime.fromisoformat(got["generated_at"]),
    )
    assert_matches(got, want)
    text_out = seq(*report_args(scenario)).stdout
    markdown = seq(*report_args(scenario, "--format", "markdown")).stdout
    result = seq(*report_args(scenario, "--format", "html", "--out", str(tmp_path / "r.html")))
    assert result.exit_code == 0 and result.stdout == "", result.stderr
    assert "wrote the html report" in result.stderr
    page = parse((tmp_path / "r.html").read_text(encoding="utf-8"))
    lines = text_rows(text_out)
    md_rows = [
        [c.strip() for c in line.strip().strip("|").split(" | ")]
        for line in markdown.splitlines()
        if line.startswith("| ")
    ]
    for template in got["templates"]:
        summary = summary_cells(template)
        assert [template["name"] + f" ({template['key']})", *summary] in md_rows
        assert [template["name"] + f" ({template['key']})", *summary] in page.rows
        labels = ["started", "active", "paused", "completed", "cancelled", "completion rate"]
        labels += ["median time to complete", "p90 time to complete"]
        pairs = [f"{k} {v}" for k, v in zip(labels, summary, strict=True)]
        assert " ".join(pairs[:5]) in lines and " ".join(pairs[5:]) in lines
        for step in template["steps"]:
            cells = step_cells(step)
            assert " ".join(cells) in lines, (cells, text_out)
            assert cells in md_rows
            assert cells in page.rows
    for a in got["assignees"]:
        label = a["email"] or "(unassigned)"
        cells = [label, str(a["open"]), str(a["overdue"]), str(a["completed"])]
        assert " ".join(cells) in lines
        assert cells in md_rows
        assert cells in page.rows
    for w in got["weeks"]:
        cells = [w["start"], str(w["starts"]), str(w["completions"]), str(w["cancellations"])]
        assert " ".join(cells) in lines
        assert cells in md_rows
        assert cells in page.rows


def test_html_is_one_self_contained_page_with_charts(
    seq: Cli, scenario: Scenario, tmp_path: Path
) -> None:
    result = seq(*report_args(scenario, "--format", "html"))
    assert result.exit_code == 0, result.stderr
    document = result.stdout
    page = parse(document)
    tags = [t for t, _ in page.tags]
    assert tags[0] == "html" and "body" in tags and "style" in tags
    assert "script" not in tags and "link" not in tags and "iframe" not in tags
    assert "img" not in tags  # charts are inline SVG, not files or data URLs
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in ("src", "href", "xlink:href", "action", "srcset", "data"):
                assert value is not None and value.startswith("#"), (tag, name, value)
    assert "@import" not in page.style and "url(" not in page.style
    assert not re.search(r"\b(src|href)\s*=\s*[\"']?(https?:)?//", document)
    # charts: one funnel per template with steps, workload, weekly; drawn by matplotlib
    svgs = [a for t, a in page.tags if t == "svg"]
    assert len(svgs) == 2 + 2
    assert sum(1 for t, _ in page.tags if t in ("path", "rect", "use")) > 50
    assert "@media print" in page.style


def test_hostile_names_are_inert_in_every_format(
    seq: Cli, engine: Engine, demo_org: str, now: datetime, tmp_path: Path
) -> None:
    template = make_template(
        engine, demo_org, f"T {HOSTILE}", [S(f"Step {HOSTILE}", 0), S("Second step", 1)]
    )
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO auth.users (id, email) VALUES"
                " ('00000000-0000-0000-0000-00000000abcd', :e)"
            ),
            {"e": f"{HOSTILE}@example.com"},
        )
        conn.execute(
            text(
                "INSERT INTO profiles (id, organisation_id, email, name) VALUES"
                " ('00000000-0000-0000-0000-00000000abcd', :o, :e, :e)"
            ),
            {"e": f"{HOSTILE}@example.com", "o": demo_org},
        )
        from seqctl.runtime.apply import apply_template

        restaurant = conn.execute(
            text("SELECT id::text FROM restaurants WHERE organisation_id = :o LIMIT 1"),
            {"o": demo_org},
        ).scalar_one()
        apply_template(
            runtime_context(conn, demo_organisation(demo_org), now=now - timedelta(days=2)),
            template,
            [restaurant],
            assign_to="00000000-0000-0000-0000-00000000abcd",
        )
    since = (now - timedelta(days=7)).date().isoformat()
    outputs = {
        f: seq("report", "--since", since, "--format", f) for f in ("text", "markdown", "html")
    }
    for fmt, result in outputs.items():
        assert result.exit_code == 0, result.stderr
        output = result.stdout
        for char in "\x1b\x07\x9b":
            assert char not in output, fmt
        # seqctl.inert, the one sanitiser of every text renderer: C1 controls as \\u009b
        shown = "\\x1b[31mRED\\x1b]8;;http://evil.example\\x07\\u009b2J"
        if fmt == "markdown":  # markdown's own escapes: renders as the text above
            shown = shown.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
        assert shown in output, fmt
    assert "<script>alert('x')</script>" in outputs["text"].stdout  # text: shown as it is
    markdown = outputs["markdown"].stdout
    assert "<script" not in markdown and "&lt;script&gt;alert('x')&lt;/script&gt;" in markdown
    page = parse(outputs["html"].stdout)
    assert "script" not in [t for t, _ in page.tags]
    shown = "".join(page.text)
    assert "<script>alert('x')</script>\\x1b[31mRED" in shown  # as text, in tables and charts
    assert shown.count("<script>alert('x')</script>") >= 5  # template, step, user; svg labels
    # json escapes control characters as JSON does
    document = seq("report", "--since", since, "--format", "json").stdout
    assert "\x1b" not in document and "\\u001b[31mRED" in document
    names = [t["name"] for t in json.loads(document)["templates"]]
    assert f"T {HOSTILE}" in names


def test_text_colour_only_on_a_terminal_without_no_color(
    seq: Cli, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "\x1b[" not in seq(*report_args(scenario)).stdout  # not a terminal
    monkeypatch.setattr("seqctl.cli.report_commands.stdout_is_terminal", lambda: True)
    coloured = seq(*report_args(scenario)).stdout
    assert "\x1b[1m" in coloured and "█" in coloured
    monkeypatch.setenv("NO_COLOR", "1")
    plain = seq(*report_args(scenario)).stdout
    assert "\x1b" not in plain and "█" in plain  # bars stay, colour goes


def test_filters_and_out_file(seq: Cli, scenario: Scenario, tmp_path: Path) -> None:
    only = as_json(seq(*report_args(scenario, "-t", "follow-up", "--format", "json")))
    assert [t["key"] for t in only["templates"]] == ["follow-up"]
    assert only["filters"]["templates"] == ["follow-up"]
    mine = as_json(
        seq(*report_args(scenario, "--assigned-to", "sam@demo.example", "--format", "json"))
    )
    assert {a["user_id"] for a in mine["assignees"]} == {SAM}
    out = tmp_path / "weekly.md"
    result = seq(*report_args(scenario, "--format", "markdown", "--out", str(out)))
    assert result.exit_code == 0 and result.stdout == ""
    assert out.read_text(encoding="utf-8").startswith("## Sequence report: Demo Restaurant Group")


def test_errors_and_exit_codes(
    seq: Cli, scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = seq("report", "--since", "last tuesday")
    assert bad.exit_code == 64 and "--since 'last tuesday' is not a date" in bad.stderr
    assert "YYYY-MM-DD" in bad.stderr
    backwards = seq("report", "--since", "2026-03-10", "--until", "2026-03-01")
    assert backwards.exit_code == 64 and "after --until" in backwards.stderr
    unknown = seq("report", "-t", "onbaording")
    assert unknown.exit_code == 1 and "no sequence template 'onbaording'" in unknown.stderr
    assert "did you mean" in unknown.stderr.lower() or "hint:" in unknown.stderr
    assert seq("report", "-t", "").exit_code == 64
    assert seq("report", "--format", "pdf").exit_code == 64
    unwritable = seq("report", "--out", str(tmp_path / "missing" / "r.txt"))
    assert unwritable.exit_code == 1 and "cannot write --out" in unwritable.stderr
    assert "Traceback" not in unwritable.stderr
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # not installed
    missing = seq("report", "--format", "html")
    assert missing.exit_code == 64
    assert "needs matplotlib" in missing.stderr and "seqctl[report]" in missing.stderr


PROBE = """
import sys
from seqctl.cli import main
code = main(sys.argv[1:])
print('MPL=' + str('matplotlib' in sys.modules), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["report", "--help"], ["json"]])
def test_matplotlib_is_imported_only_for_html(
    args: list[str], tmp_path: Path, database_url: str, demo_org: str
) -> None:
    if args == ["json"]:
        args = ["--database-url", database_url, "report", "--format", "json"]
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.stderr.strip().splitlines()[-1] == "MPL=False", result.stderr
    assert ROOT.exists()


def test_as_user_under_row_level_security(
    seq: Cli, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member of the organisation sees the same figures under its row level security, on
    both of the report's connections: the second one, reading the first one's snapshot,
    runs as the same user, with the same role and claims."""
    from seqctl.db.connection import Database

    plain = as_json(seq(*report_args(scenario, "--format", "json")))
    opened = Database.transaction
    beside: list[tuple[str | None, str, str]] = []

    @contextlib.contextmanager
    def watched(self: Database, **kw: Any) -> Iterator[Any]:
        with opened(self, **kw) as conn:
            if kw.get("snapshot_id"):
                role, claims = conn.one(
                    "SELECT current_setting('role') AS role,"
                    " current_setting('request.jwt.claims') AS claims"
                )
                beside.append((kw.get("as_user"), role, json.loads(claims)["sub"]))
            yield conn

    monkeypatch.setattr(Database, "transaction", watched)
    member = as_json(
        seq("--as-user", "alex@demo.example", *report_args(scenario, "--format", "json"))
    )
    assert beside == [(ALEX, "authenticated", ALEX)]
    for document in (plain, member):
        del document["generated_at"]  # seconds apart; no due date lies near the grace limit
    assert member == plain
    assert seq("--as-user", "nobody@demo.example", "report").exit_code in (1, 64)

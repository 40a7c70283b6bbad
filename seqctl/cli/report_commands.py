"""`seqctl report`: funnels, workload and a weekly series, as text, json, markdown or html."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ..errors import SeqctlError, UsageError
from .app import app, err, open_db, state, stdout_is_terminal


class ReportFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"
    html = "html"


@app.command("report")
def report(
    ctx: typer.Context,
    template: Annotated[
        list[str] | None,
        typer.Option(
            "--template",
            "-t",
            metavar="TEMPLATE",
            help="Only this template (key, name or UUID; repeatable). Default: the active "
            "templates and any with instances started in the period.",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="First day of the period (YYYY-MM-DD). Default: 12 weeks back, a Monday.",
            show_default=False,
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            metavar="DATE",
            help="Last day of the period, inclusive (YYYY-MM-DD). Default: today.",
            show_default=False,
        ),
    ] = None,
    assigned_to: Annotated[
        str | None,
        typer.Option(
            "--assigned-to",
            metavar="USER",
            help="Only instances assigned to this user, and their tasks (email or UUID).",
            show_default=False,
        ),
    ] = None,
    format: Annotated[
        ReportFormat, typer.Option("--format", help="Output format.")
    ] = ReportFormat.text,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="FILE",
            help="Write the report to FILE instead of stdout.",
            show_default=False,
        ),
    ] = None,
) -> int:
    """Per template: starts, outcomes, completion times and a step funnel; per assignee:
    open, overdue and completed tasks; per week: starts, completions, cancellations.

    Days are in the configured time zone (--timezone). Text output draws bars; colour only
    on a terminal, never with NO_COLOR. html is one self-contained page with charts
    (needs matplotlib: pip install 'seqctl[report]').

    Examples:

      seqctl report

      seqctl report -t restaurant-onboarding --since 2026-01-05 --format markdown

      seqctl report --format html --out report.html
    """
    from ..runtime.lookup import act_as_user, resolve_organisation
    from ..runtime.report import build_report, parse_day
    from ..runtime.report_formats import render_markdown, render_text, report_json

    first = parse_day(since, "--since") if since is not None else None
    last = parse_day(until, "--until") if until is not None else None
    if template is not None and any(not t for t in template):
        raise UsageError("--template '' names no template", hint="give a key, name or UUID")
    if assigned_to == "":
        raise UsageError("--assigned-to '' names no user", hint="give an email or UUID")
    loading = None
    if format is ReportFormat.html:  # before the database work: say what is missing first
        import importlib.util

        # found, not imported: the import (a tenth of a second) runs in preload's thread
        if importlib.util.find_spec("matplotlib") is None:
            from ..runtime.report_formats import MATPLOTLIB_HINT

            raise UsageError(
                "--format html needs matplotlib, which is not installed", hint=MATPLOTLIB_HINT
            ) from None
        from ..runtime.report_formats import preload

        loading = preload()  # matplotlib loads while the queries run
    settings = state(ctx).settings
    # one read-only snapshot: the funnel reads it here while the other queries read it on a
    # second connection at the same time (build_report)
    with open_db(ctx, acting_user=True) as db, db.transaction(snapshot=True) as conn:
        org_ref = settings.org
        user_id: str | None = None
        if settings.user:
            user_id, org_ref = act_as_user(conn, settings.user, settings.org)
        organisation = resolve_organisation(conn, org_ref)
        result = build_report(
            conn,
            organisation,
            templates=template or [],
            since=first,
            until=last,
            assigned_to=assigned_to,
            timezone=settings.timezone,
            second=lambda snapshot: db.transaction(as_user=user_id, snapshot_id=snapshot),
        )
    color = False
    if format is ReportFormat.json:
        import json

        document = {"format_version": "1", **report_json(result)}
        content = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    elif format is ReportFormat.markdown:
        content = render_markdown(result)
    elif format is ReportFormat.html:
        from ..runtime.report_formats import render_html

        if loading is not None:
            loading.join()
        content = render_html(result)
    else:
        color = out_file is None and stdout_is_terminal() and "NO_COLOR" not in os.environ
        content = render_text(result, color=color)
    if out_file is None:
        # color=True: click would otherwise strip the escapes seqctl decided to send
        typer.echo(content.rstrip("\n"), color=True if color else None)
        return 0
    try:
        out_file.write_text(content, encoding="utf-8")
    except OSError as error:
        raise SeqctlError(
            f"cannot write --out {out_file}: {error.strerror or error}",
            hint="give a writable file path with --out",
        ) from None
    err(f"wrote the {format.value} report to {out_file}")
    return 0

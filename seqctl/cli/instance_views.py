"""Text and JSON renderings of apply, status, lifecycle and progression results.

Pure functions from library results to lines of text or JSON-ready dicts; the commands
print them. Times are shown in the configured time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..inert import inert
from ..short_ids import short

if TYPE_CHECKING:  # the views only format results: loading them costs nothing
    from ..runtime.apply import ApplyReport, InstancePreview
    from ..runtime.lifecycle import Transition
    from ..runtime.progression import AdvanceReport, Move, TaskOutcome
    from ..runtime.status import InstanceDetail, InstanceRow, StatusReport, StepLine


def when(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if moment else "-"


def scheduled_when(moment: datetime | None, zone: ZoneInfo, scheduled_in: str | None) -> str:
    """A due date in the zone it was scheduled in (§10), else in the configured zone."""
    return when(moment, ZoneInfo(scheduled_in)) if scheduled_in and moment else when(moment, zone)


def iso(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return moment.astimezone(zone).isoformat() if moment else None


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    rows = [[inert(cell) for cell in row] for row in rows]  # widths of what is shown
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    return [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip()
        for line in [list(headers), *rows]
    ]


# -- apply ----------------------------------------------------------------------------


def apply_lines(report: ApplyReport, zone: ZoneInfo) -> list[str]:
    lines: list[str] = []
    if report.dry_run:
        for preview in report.previews:
            lines.extend(preview_lines(preview, zone))
        for variable, column in report.missing_columns.items():
            lines.append(
                f"{{{variable}}} renders empty for every restaurant: the restaurants table "
                f"has no column {column}"
            )
        names = {o.restaurant_id: o.restaurant_name for o in report.outcomes}
        for rid, why in report.zone_fallbacks.items():
            lines.append(f"time zone of {names.get(rid) or rid} ({rid}): {why}")
    rows = [
        [o.result, o.restaurant_name or o.ref, short(o.instance_id) or "-"]
        for o in report.outcomes
        if not (report.dry_run and o.result == "would_start")
    ]
    if rows:
        lines.extend(table(["RESULT", "RESTAURANT", "INSTANCE"], rows))
    counts = ", ".join(
        f"{report.count(result)} {label}"
        for result, label in (
            (
                "would_start" if report.dry_run else "started",
                "would start" if report.dry_run else "started",
            ),
            ("already_active", "already active"),
        )
    )
    tail = " Dry run: nothing was written." if report.dry_run else ""
    lines.append(
        f"{report.template.name} ({report.total_steps} steps): {counts} "
        f"(of {len(report.outcomes)} restaurant{'' if len(report.outcomes) == 1 else 's'})."
        f"{tail}"
    )
    return lines


def preview_lines(preview: InstancePreview, zone: ZoneInfo) -> list[str]:
    lines = [
        f'would start "{preview.name}" for {preview.restaurant_name} '
        f"({short(preview.restaurant_id)})"
    ]
    for task in preview.tasks:
        due = (
            f"due {scheduled_when(task.due_date, zone, task.scheduled_in)}"
            if task.due_date
            else (
                f"{task.delay_value} {_unit(task.delay_value, task.delay_unit)}"
                f" after step {task.step_order - 1}"
            )
        )
        lines.append(
            f"  {task.step_order}. {task.name} [{task.type}, {task.priority}] {task.status}, {due}"
        )
        if task.subject_line_rendered is not None:
            lines.append(f"       subject: {task.subject_line_rendered}")
        if task.message_rendered is not None:
            lines.extend("       | " + line for line in task.message_rendered.splitlines() or [""])
    empty = preview.empty_variables
    lines.append(f"  variables that render empty: {', '.join(empty) if empty else 'none'}")
    return lines


def apply_json(report: ApplyReport, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "template": {
            "id": report.template.id,
            "name": report.template.name,
            "key": report.template.key,
            "total_steps": report.total_steps,
        },
        "dry_run": report.dry_run,
        "results": [
            {
                "ref": o.ref,
                "result": o.result,
                "restaurant_id": o.restaurant_id,
                "restaurant": o.restaurant_name,
                "instance_id": o.instance_id,
                **({"message": o.message} if o.message else {}),
            }
            for o in report.outcomes
        ],
        "summary": {r: report.count(r) for r in ("started", "already_active", "would_start")},
        "missing_columns": report.missing_columns,
        # §10, only for scheduled templates (the output of others stays as it was)
        **(
            {
                "zone_fallbacks": [
                    {"restaurant_id": rid, "reason": why}
                    for rid, why in report.zone_fallbacks.items()
                ]
            }
            if report.zone_fallbacks
            else {}
        ),
        **(
            {
                "instances": [
                    {
                        "restaurant_id": p.restaurant_id,
                        "restaurant": p.restaurant_name,
                        "name": p.name,
                        "empty_variables": p.empty_variables,
                        "tasks": [
                            {
                                **{
                                    k: v
                                    for k, v in vars(t).items()
                                    if k != "due_date" and not (k == "scheduled_in" and v is None)
                                },
                                "due_date": iso(t.due_date, zone),
                            }
                            for t in p.tasks
                        ],
                    }
                    for p in report.previews
                ]
            }
            if report.dry_run
            else {}
        ),
    }


# -- status ---------------------------------------------------------------------------


def step_text(r: InstanceRow) -> str:
    """The STEP column: where a running instance is; how a finished one ended."""
    if r.status == "completed":
        return "done"
    if r.status == "cancelled":
        return f"stopped at {r.current_step}/{r.total_steps}" if r.current_step else "stopped"
    return f"{r.current_step or '-'}/{r.total_steps}"


def due_text(r: InstanceRow) -> str:
    return "OVERDUE" if r.overdue else "due" if r.due and r.status == "active" else ""


STATUS_HEADERS = ["INSTANCE", "RESTAURANT", "TEMPLATE", "STATUS", "STEP", "DONE", "NEXT DUE"]
STATUS_HEADERS += ["TASK", ""]


def status_lines(report: StatusReport, zone: ZoneInfo) -> list[str]:
    rows = [
        [
            short(r.id),
            r.restaurant,
            r.template or "-",
            r.status,
            step_text(r),
            f"{r.percentage}%",
            scheduled_when(r.next_due, zone, r.scheduled_in),
            short(r.active_task_id) or "-",
            " ".join(filter(None, [due_text(r), version_mark(r)])),
        ]
        for r in report.rows
    ]
    lines = (
        table(
            [
                "INSTANCE",
                "RESTAURANT",
                "TEMPLATE",
                "STATUS",
                "STEP",
                "DONE",
                "NEXT DUE",
                "TASK",
                "",
            ],
            rows,
        )
        if rows
        else ["no instances"]
    )
    lines.append("")
    for status, n in report.summary.items():
        extra = (
            f" ({report.due} due, {report.overdue} overdue)"
            if status == "active" and (report.due or report.overdue)
            else ""
        )
        lines.append(f"{status}: {n}{extra}")
    return lines


def version_mark(r: InstanceRow) -> str:
    """``v2→v4`` for an instance running an older version of its template, else empty."""
    if not r.outdated:
        return ""
    return f"v{r.instance_version or '?'}\u2192v{r.template_version}"


def row_json(r: InstanceRow, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "restaurant": r.restaurant,
        "restaurant_id": r.restaurant_id,
        "template": r.template,
        "template_id": r.template_id,
        "status": r.status,
        "current_step": r.current_step,
        "total_steps": r.total_steps,
        "completed_steps": r.completed_steps,
        "skipped_steps": r.skipped_steps,
        "percentage": r.percentage,
        "next_due": iso(r.next_due, zone),
        "due": r.due,
        "overdue": r.overdue,
        "active_task_id": r.active_task_id,
        "assigned_to": r.assigned_to,
        "assigned_to_email": r.assigned_to_email,
        "started_at": iso(r.started_at, zone),
        "ended_at": iso(r.ended_at, zone),
        "template_version": r.instance_version,
        "current_template_version": r.template_version,
        "outdated": r.outdated,
        **({"scheduled_in": r.scheduled_in} if r.scheduled_in else {}),
    }


def status_json(report: StatusReport, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "instances": [row_json(r, zone) for r in report.rows],
        "summary": {
            **report.summary,
            "due": report.due,
            "overdue": report.overdue,
            "total": report.total,
        },
        "shown": len(report.rows),
    }


def detail_lines(detail: InstanceDetail, zone: ZoneInfo) -> list[str]:
    r = detail.instance
    lines = [
        f"instance    {short(r.id)} ({r.id})",
        f"name        {r.name}",
        f"restaurant  {r.restaurant} ({short(r.restaurant_id)})",
        f"template    {r.template or '(deleted)'} ({short(r.template_id)})",
        f"status      {r.status}, step {step_text(r)}, {r.percentage}%",
        f"assigned to {r.assigned_to_email or r.assigned_to or '-'}",
        f"started     {when(r.started_at, zone)}",
        f"next due    "
        f"{scheduled_when(r.next_due, zone, _active_zone(detail))}"
        f"{'  ' + due_text(r) if due_text(r) else ''}",
    ]
    if r.template_version is not None:
        mark = version_mark(r)
        lines.append(
            f"version     {mark} (older than the template's; `seqctl migrate --template "
            f"{r.template_id[:8]} --instance {r.id[:8]}` moves it)"
            if mark
            else f"version     v{r.instance_version or 1}"
        )
    lines.append("")
    lines.extend(
        table(
            ["STEP", "NAME", "TYPE", "STATUS", "DUE", "COMPLETED", "TASK"],
            [
                [
                    str(s.order),
                    s.name,
                    s.type,
                    s.status,
                    scheduled_when(s.due_date, zone, s.schedule_zone),
                    when(s.completed_at, zone),
                    short(s.task_id),
                ]
                for s in detail.steps
            ],
        )
    )
    active = detail.active_task
    if active is not None:
        lines += ["", f"message of the active task (step {active.order}, {active.name}):"]
        text = active.message_rendered if active.message_rendered is not None else active.message
        lines.extend("  " + line for line in (text or "(no message)").splitlines())
    return lines


def _active_zone(detail: InstanceDetail) -> str | None:
    active = detail.active_task
    return active.schedule_zone if active is not None else None


def step_json(s: StepLine, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "order": s.order,
        "name": s.name,
        "type": s.type,
        "status": s.status,
        "due_date": iso(s.due_date, ZoneInfo(s.schedule_zone) if s.schedule_zone else zone),
        **({"scheduled_in": s.schedule_zone} if s.schedule_zone else {}),
        "completed_at": iso(s.completed_at, zone),
        "cancelled_at": iso(s.cancelled_at, zone),
        "task_id": s.task_id,
        "message": s.message,
        "message_rendered": s.message_rendered,
    }


def detail_json(detail: InstanceDetail, zone: ZoneInfo) -> dict[str, Any]:
    active = detail.active_task
    return {
        "instance": row_json(detail.instance, zone),
        "steps": [step_json(s, zone) for s in detail.steps],
        "active_task": step_json(active, zone) if active else None,
    }


# -- lifecycle and progression ----------------------------------------------------------


def move_text(move: Move, zone: ZoneInfo) -> str:
    if move.what == "completed":
        return f"instance {short(move.instance_id)} completed"
    return (
        f"instance {short(move.instance_id)}: step {move.step} active, "
        f"due {scheduled_when(move.due_date, zone, move.scheduled_in)} "
        f"(task {short(move.task_id)})"
    )


def move_json(move: Move, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "instance_id": move.instance_id,
        "what": move.what,
        "task_id": move.task_id,
        "step": move.step,
        "due_date": iso(move.due_date, zone),
    }


PAST = {"pause": "paused", "resume": "resumed", "cancel": "cancelled", "finish": "finished"}


def transition_lines(transitions: list[Transition], zone: ZoneInfo) -> list[str]:
    lines = []
    for t in transitions:
        tasks = f"; {t.tasks_changed} task(s) updated" if t.tasks_changed else ""
        lines.append(
            f"{PAST[t.action]} instance {short(t.instance_id)} ({t.name}): "
            f"{t.from_status} -> {t.to_status}{tasks}"
        )
        lines.extend("  " + move_text(m, zone) for m in t.moves)
    return lines


def transition_json(transitions: list[Transition], zone: ZoneInfo) -> dict[str, Any]:
    return {
        "instances": [
            {
                "id": t.instance_id,
                "name": t.name,
                "action": t.action,
                "from": t.from_status,
                "to": t.to_status,
                "tasks_changed": t.tasks_changed,
                "moves": [move_json(m, zone) for m in t.moves],
            }
            for t in transitions
        ]
    }


def task_lines(outcomes: list[TaskOutcome], zone: ZoneInfo) -> list[str]:
    lines = []
    for o in outcomes:
        if not o.changed:
            lines.append(
                f"task {short(o.task_id)} ({o.name}) is already "
                f"{o.result.removeprefix('already_')}; nothing to do"
            )
            continue
        lines.append(f"{o.result} task {short(o.task_id)} ({o.name})")
        lines.extend("  " + move_text(m, zone) for m in o.moves)
        if o.instance_status == "paused":
            lines.append(
                f"  instance {short(o.instance_id)} is paused: "
                "its next step starts after `seqctl resume`"
            )
    return lines


def task_json(outcomes: list[TaskOutcome], zone: ZoneInfo) -> dict[str, Any]:
    return {
        "tasks": [
            {
                "id": o.task_id,
                "name": o.name,
                "instance_id": o.instance_id,
                "result": o.result,
                "instance_status": o.instance_status,
                "moves": [move_json(m, zone) for m in o.moves],
            }
            for o in outcomes
        ]
    }


def advance_lines(report: AdvanceReport, zone: ZoneInfo) -> list[str]:
    lines = [move_text(m, zone) for m in report.moves]
    activated = sum(1 for m in report.moves if m.what == "activated")
    completed = len(report.moves) - activated
    lines.append(f"advance: {activated} step(s) activated, {completed} instance(s) completed")
    return lines


def advance_json(report: AdvanceReport, zone: ZoneInfo) -> dict[str, Any]:
    return {"examined": report.examined, "moves": [move_json(m, zone) for m in report.moves]}


def _unit(value: int, unit: str) -> str:
    """``days`` → ``day`` for a delay of 1."""
    return unit.removesuffix("s") if value == 1 else unit

"""What a first ``db upgrade`` would do to a database that already has tables (spec §8).

A database with tables but no seqctl history is someone's database — the application's
CRM, or another application's by a mistaken ``DATABASE_URL``. Before seqctl writes to it,
``db upgrade`` lists what it would create, adopt and alter there, and asks (or needs
``--yes``). An empty database (the embedded one, a fresh test database) is not asked about.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from .connection import current_revision
from .migrate import VERSION_SCHEMA, revisions

# the CRM objects revision 001 creates where missing (its PREEXISTING_SQL)
CRM_TABLES = (
    "public.organisations",
    "auth.users",
    "public.profiles",
    "public.restaurants",
    "public.message_templates",
    "public.task_templates",
    "public.tasks",
)
CRM_FUNCTIONS = ("auth.uid()", "public.update_updated_at_column()")
# the sequence tables, by the revision that creates them
SEQUENCE_TABLES = {
    "001": "public.sequence_templates",
    "002": "public.sequence_steps",
    "003": "public.sequence_instances",
}
TASK_COLUMNS = ("sequence_instance_id", "sequence_step_order")  # revision 004
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")


@dataclass
class FirstUpgrade:
    """A database with tables and no seqctl history: what ``db upgrade`` would do to it."""

    tables: int  # tables found, in every schema but the system ones
    schemas: list[tuple[str, int]]  # (schema, tables in it), most first
    create: list[str] = field(default_factory=list)
    adopt: list[str] = field(default_factory=list)
    alter: list[str] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)  # CRM tables used as they are

    def lines(self) -> list[str]:
        """The listing, one line per kind of change (for stderr)."""
        found = ", ".join(f"{schema} ({count})" for schema, count in self.schemas[:6])
        more = f", {len(self.schemas) - 6} more schemas" if len(self.schemas) > 6 else ""
        lines = [f"found: {self.tables} table(s) in {found}{more}; no seqctl version table"]
        if self.adopt:
            lines.append(
                f"adopts: {', '.join(self.adopt)} (made without seqctl: verified against the "
                "design, recorded, no row touched)"
            )
        lines += [f"alters: {change}" for change in self.alter]
        if self.create:
            lines.append(
                f"creates: {', '.join(self.create)} (with their constraints, indexes, triggers "
                "and policies)"
            )
        lines.append(f"creates: schema {VERSION_SCHEMA} (seqctl's version table)")
        if self.keep:
            lines.append(f"uses as they are: {', '.join(self.keep)}")
        lines.append("every other table stays as it is; no row is changed")
        return lines


def first_upgrade(connection: Connection, target: str = "head") -> FirstUpgrade | None:
    """What upgrading to ``target`` would do, or None when nothing needs confirming: the
    database has seqctl history (a recorded revision) or no table at all."""
    if current_revision(connection) is not None:
        return None
    counts = connection.execute(
        text(
            "SELECT n.nspname, count(*) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname <> ALL(:system) "
            "AND n.nspname NOT LIKE 'pg\\_%' GROUP BY 1 ORDER BY 2 DESC, 1"
        ),
        {"system": list(SYSTEM_SCHEMAS)},
    ).all()
    schemas = [(str(schema), int(count)) for schema, count in counts]
    if not schemas:
        return None
    order = [rev for rev, _down, _doc in revisions()]
    if target in ("head", "heads"):
        applied = order
    elif target in order:
        applied = order[: order.index(target) + 1]
    elif target.startswith("+") and target[1:].isdigit():
        applied = order[: int(target[1:])]
    else:
        applied = order
    exists = _existing(connection, [*CRM_TABLES, *SEQUENCE_TABLES.values()])
    columns = _columns(connection)
    report = FirstUpgrade(tables=sum(n for _s, n in schemas), schemas=schemas)
    for table in CRM_TABLES:
        if not exists[table]:
            report.create.append(table)
    for function in CRM_FUNCTIONS:
        if connection.execute(text("SELECT to_regprocedure(:f)"), {"f": function}).scalar() is None:
            report.create.append(f"function {function}")
    adopting = any(exists[table] for table in SEQUENCE_TABLES.values()) or any(
        column in columns.get("tasks", set()) for column in TASK_COLUMNS
    )
    for revision, table in SEQUENCE_TABLES.items():
        if exists[table]:
            report.adopt.append(table)
        elif revision in applied or adopting:
            report.create.append(table)
    if exists["public.tasks"] and ("004" in applied or adopting):
        missing = [c for c in TASK_COLUMNS if c not in columns.get("tasks", set())]
        if missing:
            report.alter.append(f"public.tasks (adds column(s) {', '.join(missing)})")
    if exists["public.sequence_steps"] and ("005" in applied or adopting):
        if "subject_line" not in columns.get("sequence_steps", set()):
            report.alter.append(
                "public.sequence_steps (adds column subject_line, allows step type demo_meeting)"
            )
    altered = {change.split(" ")[0] for change in report.alter}
    report.keep = [t for t in CRM_TABLES if exists[t] and t not in altered]
    return report


def _existing(connection: Connection, tables: list[str]) -> dict[str, bool]:
    found = connection.execute(
        text("SELECT t, to_regclass(t) IS NOT NULL FROM unnest(CAST(:t AS text[])) AS t"),
        {"t": tables},
    ).all()
    return {str(table): bool(there) for table, there in found}


def _columns(connection: Connection) -> dict[str, set[str]]:
    """Columns of public.tasks and public.sequence_steps."""
    columns: dict[str, set[str]] = {}
    for table, column in connection.execute(
        text(
            "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE c.relnamespace = 'public'::regnamespace "
            "AND c.relname IN ('tasks', 'sequence_steps') AND a.attnum > 0 AND NOT a.attisdropped"
        )
    ):
        columns.setdefault(str(table), set()).add(str(column))
    return columns

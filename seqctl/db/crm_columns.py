"""The CRM columns of the database at hand, read from the catalog once per command.

seqctl's own CRM tables (revision 001, where missing) follow the application's definitions; a team's
database may be older or differ. Each command reads which columns exist once, then uses
the known variants (``message_templates.message_content`` or the older ``content``,
``profiles.name`` or ``full_name``, …). A column seqctl cannot do without is an error
naming the column, what needs it and how to fix it (exit 3); an optional one that is
missing is simply not read or written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import SchemaNotMigrated
from ..pg import Connection, tx

CRM_TABLES = (
    "organisations",
    "profiles",
    "restaurants",
    "task_templates",
    "message_templates",
    "tasks",
)

# (table, variants in order of preference): the first that exists is used
MESSAGE_CONTENT = ("message_templates", ("message_content", "content"))
MESSAGE_SUBJECT = ("message_templates", ("subject_line", "subject"))
PROFILE_NAME = ("profiles", ("name", "full_name"))


class SchemaMismatch(SchemaNotMigrated):
    """A CRM table lacks a column seqctl needs. Exit code 3."""


@dataclass(frozen=True)
class CrmColumns:
    """Which columns (and their types) each CRM table of schema ``public`` has."""

    columns: Mapping[str, Mapping[str, str]]

    def has(self, table: str, column: str) -> bool:
        return column in self.columns.get(table, {})

    def optional(self, table: str, variants: Iterable[str]) -> str | None:
        """The first of ``variants`` the table has, or None."""
        return next((c for c in variants if self.has(table, c)), None)

    def require(self, table: str, variants: tuple[str, ...], needed_by: str) -> str:
        """The first of ``variants`` the table has; SchemaMismatch naming them otherwise."""
        found = self.optional(table, variants)
        if found is not None:
            return found
        wanted = " or ".join(f"{table}.{c}" for c in variants)
        if table not in self.columns:
            problem = f"the database has no table public.{table}"
        else:
            problem = f"the database has no column {wanted}"
        raise SchemaMismatch(
            f"{problem}, which {needed_by} needs",
            hint=f"add the column (as the application's migrations do: `ALTER TABLE "
            f"public.{table} ADD COLUMN {variants[0]} text`), or point seqctl at the "
            "application's database",
        )

    def present(self, table: str, wanted: Iterable[str]) -> list[str]:
        """Those of ``wanted`` the table has, in the given order."""
        return [c for c in wanted if self.has(table, c)]

    def type_of(self, table: str, column: str) -> str | None:
        """The column's type as ``format_type`` writes it (``text[]``, ``numeric(10,2)``)."""
        return self.columns.get(table, {}).get(column)

    def expression(self, alias: str, table: str, variants: Iterable[str]) -> str:
        """SQL for the first existing variant as ``alias.column``, or ``NULL``."""
        column = self.optional(table, variants)
        return f"{alias}.{column}" if column else "NULL"


_CACHE = "seqctl.crm_columns"


def crm_columns(conn: Connection) -> CrmColumns:
    """One catalog query: the columns of the CRM tables in schema ``public``.

    Read once per transaction (a command's resolve, steps and rendering share it), so the
    statements of a run stay few; a new transaction reads the catalog again."""
    current = tx(conn)
    cached = current.cache.get(_CACHE)
    if isinstance(cached, CrmColumns):
        return cached
    rows = current.rows(
        """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relname = ANY(:tables)
          AND a.attnum > 0 AND NOT a.attisdropped
        """,
        {"tables": list(CRM_TABLES)},
    )
    found: dict[str, dict[str, str]] = {}
    for table, column, type_name in rows:
        found.setdefault(str(table), {})[str(column)] = str(type_name)
    columns = CrmColumns(found)
    current.cache[_CACHE] = columns
    return columns

"""Reading the PostgreSQL catalog, for tests that check what the migrations made."""

from __future__ import annotations

from typing import Any

import psycopg

SEQUENCE_TABLES = ("sequence_templates", "sequence_steps", "sequence_instances")


def rows(url: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def indexes(url: str) -> dict[str, str]:
    return dict(
        rows(
            url,
            """
        SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = 'public'""",
        )
    )


def constraints(url: str) -> dict[str, str]:
    return dict(
        rows(
            url,
            """
        SELECT conname, conrelid::regclass::text || ': ' || pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace""",
        )
    )


def policies(url: str) -> dict[str, tuple[str, str, str | None, str | None]]:
    return {
        name: (table, cmd, qual, check)
        for table, name, cmd, qual, check in rows(
            url, "SELECT tablename, policyname, cmd, qual, with_check FROM pg_policies"
        )
    }


def triggers(url: str) -> dict[str, str]:
    return dict(
        rows(
            url,
            """
        SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal""",
        )
    )


def comments(url: str) -> dict[str, str]:
    return dict(
        rows(
            url,
            """
        SELECT c.relname || COALESCE('.' || a.attname, ''), d.description
        FROM pg_description d JOIN pg_class c ON c.oid = d.objoid
        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid
        WHERE d.classoid = 'pg_class'::regclass
          AND c.relnamespace = 'public'::regnamespace""",
        )
    )


def columns(url: str, table: str, schema: str = "public") -> list[tuple[Any, ...]]:
    return rows(
        url,
        """
        SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
        WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position""",
        (schema, table),
    )


def rls_enabled(url: str, table: str) -> bool:
    return bool(
        rows(url, "SELECT relrowsecurity FROM pg_class WHERE oid = %s::regclass", (table,))[0][0]
    )


def table_exists(url: str, qualified: str) -> bool:
    return rows(url, "SELECT to_regclass(%s)", (qualified,))[0][0] is not None


def dump_table(url: str, qualified: str) -> list[tuple[Any, ...]]:
    return rows(url, f"SELECT * FROM {qualified} ORDER BY 1")

"""A whole-database catalog snapshot, to compare what two ways of migrating produce.

Every user object outside PostgreSQL's own schemas, keyed by kind and name, with its
definition as the server prints it: schemas, tables (RLS flags, privileges), columns (order,
type, nullability, default), constraints, indexes, policies, triggers, functions, types,
extensions, default privileges, comments — and seqctl's recorded revision. Works on any
server version (no pg_dump, whose version must match the server's).
"""

from __future__ import annotations

from typing import Any

import psycopg

from seqctl.db.connection import make_engine
from seqctl.db.migrate import current

Snapshot = dict[str, dict[tuple[Any, ...], Any]]

_USER_SCHEMAS = """
    n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'"""

QUERIES: dict[str, str] = {
    "schema": f"""
        SELECT n.nspname, pg_get_userbyid(n.nspowner), n.nspacl::text
        FROM pg_namespace n WHERE {_USER_SCHEMAS}""",
    "relation": f"""
        SELECT n.nspname, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity,
               c.relacl::text, pg_get_userbyid(c.relowner)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_USER_SCHEMAS} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')""",
    "column": f"""
        SELECT n.nspname, c.relname, a.attname,
               row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
               format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE {_USER_SCHEMAS} AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND a.attnum > 0 AND NOT a.attisdropped""",
    "constraint": f"""
        SELECT n.nspname, c.conrelid::regclass::text, c.conname, c.contype,
               pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE {_USER_SCHEMAS}""",
    "index": f"""
        SELECT n.nspname, c.relname, pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_USER_SCHEMAS}""",
    "policy": """
        SELECT schemaname, tablename, policyname, permissive, roles::text, cmd, qual,
               with_check
        FROM pg_policies""",
    "trigger": f"""
        SELECT n.nspname, c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_USER_SCHEMAS} AND NOT t.tgisinternal""",
    "function": f"""
        SELECT n.nspname, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
               CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) END,
               p.proacl::text, pg_get_userbyid(p.proowner)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE {_USER_SCHEMAS}""",
    "type": f"""
        SELECT n.nspname, t.typname, t.typtype
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE {_USER_SCHEMAS} AND t.typtype IN ('e', 'd', 'r', 'm')""",
    "extension": """
        SELECT e.extname, e.extnamespace::regnamespace::text, e.extversion FROM pg_extension e""",
    "default_acl": """
        SELECT pg_get_userbyid(defaclrole), defaclnamespace::regnamespace::text,
               defaclobjtype, defaclacl::text
        FROM pg_default_acl""",
    "comment": """
        SELECT pg_describe_object(classoid, objoid, objsubid), description
        FROM pg_description WHERE objoid >= 16384""",
}

# how many leading columns of each query name the object; the rest is its definition
_KEY_WIDTH = {
    "schema": 1,
    "relation": 2,
    "column": 3,
    "constraint": 3,
    "index": 2,
    "policy": 3,
    "trigger": 3,
    "function": 2,
    "type": 2,
    "extension": 1,
    "default_acl": 3,
    "comment": 1,
}


def snapshot(url: str) -> Snapshot:
    """The catalog of the database at URL, and its seqctl revision (kind ``revision``)."""
    found: Snapshot = {}
    with psycopg.connect(url) as conn:
        for kind, query in QUERIES.items():
            width = _KEY_WIDTH[kind]
            found[kind] = {
                tuple(row[:width]): tuple(row[width:]) for row in conn.execute(query).fetchall()
            }
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            found["revision"] = {("seqctl",): current(conn)}
    finally:
        engine.dispose()
    return found


def differences(before: Snapshot, after: Snapshot) -> dict[tuple[Any, ...], tuple[Any, Any]]:
    """(kind, *name) -> (before, after) for every object added, removed or changed."""
    changed: dict[tuple[Any, ...], tuple[Any, Any]] = {}
    for kind in sorted(set(before) | set(after)):
        old, new = before.get(kind, {}), after.get(kind, {})
        for name in set(old) | set(new):
            if old.get(name) != new.get(name):
                changed[(kind, *name)] = (old.get(name), new.get(name))
    return changed

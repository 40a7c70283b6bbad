"""Locations of the files seqctl ships: Alembic migrations and JSON Schemas.

In a wheel they live in ``seqctl/_data/``; in a source checkout (editable install, tests)
they are the repository's top-level ``migrations/`` and ``schemas/`` folders.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"seqctl is installed without its {name}/ folder")


def migrations_dir() -> Path:
    return _find("migrations")


def schemas_dir() -> Path:
    return _find("schemas")


def schema_path(name: str) -> Path:
    return schemas_dir() / name

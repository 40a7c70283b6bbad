"""seqctl: task sequences as code for a restaurant-sales CRM on PostgreSQL.

The package is a library first; ``seqctl.cli`` is a thin skin over it. Heavy
dependencies (SQLAlchemy, Alembic, jsonschema) are imported by the modules that need
them, so ``import seqctl`` stays cheap.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]

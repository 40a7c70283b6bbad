"""seqctl: task sequences as code for a restaurant-sales CRM on PostgreSQL.

The package is a library first; ``seqctl.cli`` is a thin skin over it. The main entry
points are available here, imported on first use (``seqctl.validate_paths`` loads the
template layer, ``seqctl.sync`` the sync layer, …), so ``import seqctl`` and
``seqctl --version`` import none of SQLAlchemy, Alembic or jsonschema.

Layers (see each subpackage's docstring): ``seqctl.templates`` (files, validation, the
template spec, rendering), ``seqctl.sync`` (plan and sync), ``seqctl.runtime`` (apply,
progression, lifecycle, status), ``seqctl.db`` (connections, migrations, tables) and
``seqctl.cli``; imports run cli → sync/runtime → templates/db → top-level helpers.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> the module that defines it
_FACADE = {
    # templates: offline
    "validate_paths": "seqctl.templates.validate",
    "load_templates": "seqctl.templates.validate",
    "TemplateSpec": "seqctl.templates.spec",
    "Organisation": "seqctl.templates.spec",
    # database
    "open_database": "seqctl.db.connection",
    "make_engine": "seqctl.db.connection",
    "upgrade": "seqctl.db.migrate",
    "downgrade": "seqctl.db.migrate",
    "load_demo": "seqctl.db.demo",
    # sync
    "make_plan": "seqctl.sync.apply_plan",
    "SyncOptions": "seqctl.sync.apply_plan",
    "read_state": "seqctl.sync.actual",
    "export_templates": "seqctl.sync.export",
    # runtime
    "resolve_organisation": "seqctl.runtime.lookup",
    "apply_template": "seqctl.runtime.apply",
    "list_instances": "seqctl.runtime.status",
    "instance_detail": "seqctl.runtime.status",
    "transition": "seqctl.runtime.lifecycle",
    "complete_tasks": "seqctl.runtime.progression",
    "skip_tasks": "seqctl.runtime.progression",
    "advance": "seqctl.runtime.progression",
}

__all__ = ["__version__", *_FACADE]


def __getattr__(name: str) -> Any:
    module = _FACADE.get(name)
    if module is None:
        raise AttributeError(f"module 'seqctl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_FACADE])

"""The migration revisions as modules, loaded from their files (they are not a package).

Revision 001 carries the SQL of the CRM objects the sequence tables build on; tests that need
those objects outside a migration (a database set up by the design document's SQL, a
downgrade to base) run that very SQL, so there is one copy of it: the frozen revision's.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from seqctl.resources import migrations_dir

VERSIONS = Path(migrations_dir()) / "versions"

# what revision 001 writes on the public.uuid_generate_v4() it creates (and only that one)
UUID_FUNCTION_MARK = "created by seqctl"


def revision(file: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"revision_{Path(file).stem}", VERSIONS / file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIRST = revision("001_create_sequence_templates.py")
PREEXISTING_SQL: str = FIRST.PREEXISTING_SQL

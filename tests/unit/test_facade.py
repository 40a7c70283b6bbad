"""The public facade: ``seqctl.X`` for the main entry points, loaded on first use."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import seqctl


@pytest.mark.parametrize("name", sorted(seqctl._FACADE))
def test_facade_names_are_the_library_objects(name: str) -> None:
    module = importlib.import_module(seqctl._FACADE[name])
    assert getattr(seqctl, name) is getattr(module, name)
    assert name in dir(seqctl) and name in seqctl.__all__


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        seqctl.nothing  # noqa: B018


def test_import_seqctl_and_version_load_no_heavy_dependency() -> None:
    code = (
        "import sys, seqctl; from seqctl.cli.app import main; "
        "main(['--version']) if False else None; "
        "heavy = [m for m in ('sqlalchemy', 'alembic', 'jsonschema', 'seqctl.sync', "
        "'seqctl.runtime', 'seqctl.db', 'seqctl.templates', 'seqctl.cli.commands') "
        "if m in sys.modules]; "
        "print(seqctl.__version__, heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{seqctl.__version__} []"
    version = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "seqctl", "--version"],
        capture_output=True,
        text=True,
    )
    assert version.returncode == 0 and version.stdout.strip() == f"seqctl {seqctl.__version__}"
    loaded = {line.split("|")[-1].strip() for line in version.stderr.splitlines()}
    assert not loaded & {"sqlalchemy", "alembic", "jsonschema", "seqctl.db", "seqctl.runtime"}

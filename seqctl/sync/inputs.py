"""Inputs of a sync: the template files (the desired state) and saved plan files.

Template files are read and validated by ``seqctl.templates.validate`` (offline: YAML, JSON Schema,
unique keys); any error stops the sync before the database is touched.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import project_path, project_paths
from ..errors import InvalidInput
from ..resources import schema_path
from ..templates.problems import Problem
from ..templates.spec import TemplateSpec
from .plan import FORMAT_VERSION, Plan, plan_from_document

PLAN_SCHEMA = "plan.schema.json"


def display_path(file: str) -> str:
    """``file`` relative to the project root (spec §6, §7), with '/' separators: what is
    stored as ``metadata.seqctl.source``, the same from any working directory."""
    return project_path(file)


def desired_templates(paths: Sequence[Path]) -> tuple[list[TemplateSpec], list[str]]:
    """The desired state of a sync: the templates of the files under ``paths`` (sources
    relative to the project root) and the validation warnings.

    Unlike :func:`seqctl.templates.validate.load_templates`, which returns what it could
    load with every problem, this refuses: it raises InvalidInput listing every error
    (file:line:col, JSON path, message).
    """
    from ..templates.validate import validate_paths

    result = validate_paths(paths)
    loaded = result.templates
    problems = sorted(result.all_problems(), key=lambda p: p.sort_key())
    errors = [p for p in problems if p.severity == "error"]
    warnings = [_describe(p) for p in problems if p.severity == "warning"]
    if errors:
        lines = [_describe(p) + (f" ({p.hint})" if p.hint else "") for p in errors]
        raise InvalidInput(
            lines[0]
            if len(lines) == 1
            else f"{len(lines)} errors in the template files:\n"
            + "\n".join(f"  {line}" for line in lines),
            hint="run `seqctl validate` on the files for details; nothing was changed",
        )
    sources = project_paths([t.source for t in loaded])  # display_path of each
    templates = [
        dataclasses.replace(t, source=source) for t, source in zip(loaded, sources, strict=True)
    ]
    return templates, warnings


def _describe(problem: Problem) -> str:
    """``file:line:col: $.path: message`` (no JSON path for a problem of a whole path)."""
    path = f"{problem.json_path}: " if problem.json_path else ""
    return f"{problem.where}: {path}{problem.message}"


@functools.cache
def _plan_validator() -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads(schema_path(PLAN_SCHEMA).read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def read_plan_file(path: Path) -> Plan:
    """A plan saved by ``seqctl plan --out``; InvalidInput if it is not one."""
    from ..reading import read_text

    try:
        document = json.loads(read_text(path, "plan file"))
    except RecursionError:
        raise InvalidInput(
            f"{path}: not a plan file: JSON nested too deeply",
            hint="make one with `seqctl plan --out FILE`",
        ) from None
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"{path}: not a readable plan file: {error}",
            hint="make one with `seqctl plan --out FILE`",
        ) from None
    if not isinstance(document, dict) or document.get("format_version") != FORMAT_VERSION:
        raise InvalidInput(
            f"{path}: not a seqctl plan of format_version {FORMAT_VERSION}",
            hint="make one with this seqctl: `seqctl plan --out FILE`",
        )
    invalid = next(iter(_plan_validator().iter_errors(document)), None)
    if invalid is not None:
        where = "$" + "".join(f"[{p!r}]" for p in invalid.absolute_path)
        raise InvalidInput(
            f"{path}: not a valid plan file at {where}: {invalid.message}",
            hint="make a new plan with `seqctl plan --out FILE`",
        )
    if document["applied"]:
        raise InvalidInput(
            f"{path}: this is the output of a sync, not a plan",
            hint="save a plan with `seqctl plan --out FILE`",
        )
    return plan_from_document(document)

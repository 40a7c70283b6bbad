"""`seqctl validate` (offline check of template files) and `seqctl schema`."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from .app import EXIT_FAILURE, EXIT_OK, app, out


class ValidateFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"


@app.command("validate")
def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Template files or directories (searched for *.yaml and *.yml). "
            "Default: sequences/.",
            metavar="PATH",
            show_default=False,
        ),
    ] = None,
    format: Annotated[
        ValidateFormat | None,
        typer.Option(
            "--format",
            help="Output format. Default: github when GITHUB_ACTIONS=true, else text.",
            show_default=False,
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail (exit 1) on warnings too, not only on errors.")
    ] = False,
) -> int:
    """Check template files offline: YAML syntax, JSON Schema, unique keys, message variables.

    Prints one line per problem (file:line:col: error|warning: $.json.path: message) and a
    summary. Exit 0 when valid (warnings allowed unless --strict), 1 when not. No database.

    Examples:

      seqctl validate

      seqctl validate sequences/ --strict

      seqctl validate sequences/restaurant-onboarding.yaml --format json
    """
    from ..templates.files import DEFAULT_PATH
    from ..templates.problem_formats import REPORTERS
    from ..templates.validate import validate_paths

    chosen = format or (
        ValidateFormat.github
        if os.environ.get("GITHUB_ACTIONS", "").lower() == "true"
        else ValidateFormat.text
    )
    result = validate_paths(paths or [DEFAULT_PATH])
    out(REPORTERS[chosen.value](result))
    return EXIT_OK if result.ok(strict=strict) else EXIT_FAILURE


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema of template files (JSON Schema 2020-12).

    Editors use it for completion and checks; point them at it with a first line such as

      # yaml-language-server: $schema=../schemas/sequence-template.schema.json

    Example:

      seqctl schema > sequence-template.schema.json
    """
    from ..templates.schema import schema_text

    out(schema_text().rstrip("\n"))

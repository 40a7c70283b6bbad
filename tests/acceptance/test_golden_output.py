"""Golden output of the public commands: text, JSON, Markdown and GitHub forms, byte for byte.

Each command runs in-process through the real entry point against a fresh demo database;
UUIDs, times and the temporary directory are replaced by stable placeholders (numbered by
first appearance), then the output is compared with ``tests/golden/NAME.txt``. A change of
wording or layout fails here; if it is intended, regenerate the files with
``SEQCTL_UPDATE_GOLDEN=1 pytest tests/acceptance/test_golden_output.py`` and review the diff.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from ..conftest import Result

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
REPO = Path(__file__).resolve().parents[2]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
ELAPSED = re.compile(r"\b\d+(?:\.\d+)? ?(?:ms|s)\b")

Cli = Callable[..., Result]


def normalise(text: str, tmp: Path) -> str:
    text = text.replace(str(tmp), "<tmp>")
    seen: dict[str, str] = {}

    def uuid(match: re.Match[str]) -> str:
        return seen.setdefault(match.group(0), f"<uuid-{len(seen) + 1}>")

    text = UUID.sub(uuid, text)
    text = TIME.sub("<time>", text)
    return ELAPSED.sub("<elapsed>", text)


def check(name: str, result: Result, tmp: Path, exit_code: int = 0) -> None:
    assert result.exit_code == exit_code, (name, result.stdout, result.stderr)
    actual = (
        f"exit {result.exit_code}\n--- stdout\n{normalise(result.stdout, tmp)}"
        f"--- stderr\n{normalise(result.stderr, tmp)}"
    )
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("SEQCTL_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == actual, f"{name}: output changed"


def test_validate_golden(cli: Cli, tmp_path: Path) -> None:
    files = tmp_path / "files"
    shutil.copytree(REPO / "sequences", files / "sequences")
    for name in ("bad-enums.yaml", "delay-too-big.yaml", "duplicate-key.yaml", "unknown-key.yaml"):
        shutil.copy(REPO / "tests" / "examples" / "negative" / name, files / name)
    shutil.copy(REPO / "tests" / "examples" / "positive" / "warnings-only.yaml", files)
    for form in ("text", "json", "github"):
        check(f"validate-{form}", cli("validate", str(files), "--format", form), tmp_path, 1)
    good = files / "sequences"
    check("validate-ok-text", cli("validate", str(good)), tmp_path)


def test_sync_and_instances_golden(
    cli: Cli, database_url: str, demo_org: str, tmp_path: Path
) -> None:
    files = tmp_path / "sequences"
    shutil.copytree(REPO / "sequences", files)

    def seq(*args: str) -> Result:
        return cli("--database-url", database_url, *args)

    for form in ("text", "markdown", "json"):
        check(f"plan-{form}", seq("plan", str(files), "--format", form), tmp_path)
    check("sync-text", seq("sync", str(files)), tmp_path)
    check("plan-nochange-text", seq("plan", str(files)), tmp_path)
    luigi, sakura = "Luigi's Trattoria", "Sakura Sushi Bar"
    apply = ("apply", "-t", "restaurant-onboarding", "-r", luigi, "-r", sakura)
    check("apply-dry-run-text", seq(*apply, "--dry-run"), tmp_path)
    check("apply-dry-run-json", seq(*apply, "--dry-run", "--format", "json"), tmp_path)
    # one restaurant first, so that the two instances' due times differ and order is stable
    check("apply-text", seq(*apply[:5]), tmp_path)
    check("apply-again-json", seq(*apply, "--format", "json"), tmp_path)
    check("status-text", seq("status"), tmp_path)
    check("status-json", seq("status", "--format", "json"), tmp_path)
    check("status-restaurant-text", seq("status", "--restaurant", luigi), tmp_path)
    listing = seq("status", "--restaurant", luigi, "--format", "json")
    instance = UUID.findall(listing.stdout)[0]
    check("status-instance-text", seq("status", instance), tmp_path)
    check("status-instance-json", seq("status", instance, "--format", "json"), tmp_path)
    check("pause-text", seq("pause", instance), tmp_path)
    check("resume-json", seq("resume", instance, "--format", "json"), tmp_path)

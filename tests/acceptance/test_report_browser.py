"""The html report in a real browser: headless Chromium lays it out, draws its charts and
takes a screenshot. Skipped where no Chromium is installed (CI: it is not installed there;
``apt-get install chromium`` on Debian)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ..conftest import Result
from ..db.report_scenario import build

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BROWSER = next((found for name in BROWSERS if (found := shutil.which(name))), None)

pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no Chromium installed (Debian: apt-get install chromium)"
)


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert BROWSER is not None
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                BROWSER,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )


def test_chromium_renders_the_report_and_takes_a_screenshot(
    cli: Callable[..., Result], database_url: str, engine: Engine, demo_org: str, tmp_path: Path
) -> None:
    from PIL import Image

    build(engine, demo_org, datetime.now(UTC).replace(microsecond=0))
    page = tmp_path / "report.html"
    result = cli("--database-url", database_url, "report", "--format", "html", "--out", str(page))
    assert result.exit_code == 0, result.stderr
    # the DOM the browser built: charts and tables are there, and nothing was fetched
    dom = chromium("--dump-dom", page.as_uri()).stdout
    assert dom.count("<svg") == 4 and "Sequence report: Demo Restaurant Group" in dom
    assert "<script" not in dom
    shot = tmp_path / "report.png"
    chromium("--window-size=1200,1600", f"--screenshot={shot}", page.as_uri())
    with Image.open(shot) as image:
        assert image.size == (1200, 1600)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    # not a blank page: text, the chart's blues and the overdue red are drawn
    assert colours is None or len(colours) > 50

"""The html report of the demo data, looked at in a real browser: headless Chromium.

Usage: python bench/screenshot_report.py [--out docs/report.png] [--html report.html]
                                         [--server postgresql://postgres@127.0.0.1:5432/postgres]

Creates its own database on the server (dropped at the end), loads the demo data, syncs the
shipped ``sequences/``, adds a few dozen restaurants and walks instances through ten weeks
of history with the library at chosen moments (a fixed pseudo-random seed: the same picture
every run): completions, skips, cancellations, pauses, overdue tasks. Then it runs
``seqctl report --format html`` and has Chromium (Debian's ``chromium`` package; as root it
needs ``--no-sandbox``) take a full-page screenshot, made small with Pillow (matplotlib's
dependency) for the README.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchdb import DEFAULT_SERVER, temporary_database
from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seqctl.db.connection import make_engine  # noqa: E402
from seqctl.db.demo import load_demo  # noqa: E402
from seqctl.db.migrate import upgrade  # noqa: E402
from seqctl.runtime import lifecycle, progression  # noqa: E402
from seqctl.runtime.apply import apply_template  # noqa: E402
from seqctl.runtime.context import runtime_context  # noqa: E402
from seqctl.runtime.lookup import Organisation  # noqa: E402

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TEMPLATES = ("restaurant-onboarding", "follow-up", "demo-booking")
USERS = ("alex@demo.example", "sam@demo.example")


def find_browser() -> str | None:
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def simulate(engine: Engine, now: datetime, restaurants: int = 36, seed: int = 7) -> None:
    """Ten weeks of history for the demo organisation, ending ``now``."""
    rng = random.Random(seed)
    with engine.begin() as conn:
        org = load_demo(conn)
        organisation = Organisation(str(org["organisation_id"]), str(org["organisation"]))
        names = [
            "Bistro",
            "Taqueria",
            "Noodle Bar",
            "Pizzeria",
            "Dumpling House",
            "Grill",
            "Café",
            "Kitchen",
            "Canteen",
        ]
        ids = list(
            conn.execute(
                text(
                    "INSERT INTO restaurants (organisation_id, name, city) SELECT CAST(:o AS uuid),"
                    " 'Demo ' || (CAST(:names AS text[]))[1 + g % 9] || ' ' || g, 'Auckland'"
                    " FROM generate_series(1, :n) g RETURNING id::text"
                ),
                {"o": organisation.id, "names": names, "n": restaurants},
            ).scalars()
        )
    start = now - timedelta(weeks=10)
    for number, restaurant in enumerate(ids):
        template = TEMPLATES[0] if number % 3 else TEMPLATES[1 + number % 2]
        at = start + timedelta(hours=rng.uniform(0, 24 * 7 * 9.5))
        with engine.begin() as conn:
            report = apply_template(
                runtime_context(conn, organisation, now=at),
                template,
                [restaurant],
                assign_to=USERS[number % 2],
            )
        instance = report.outcomes[0].instance_id
        assert instance is not None
        while True:
            at += timedelta(hours=rng.choice((2, 5, 20, 26, 30, 50, 75)))
            if at >= now:
                break
            with engine.begin() as conn:
                status, task = conn.execute(
                    text(
                        "SELECT si.status, t.id::text FROM sequence_instances si LEFT JOIN tasks t"
                        " ON t.sequence_instance_id = si.id AND t.status = 'active'"
                        " WHERE si.id = :i"
                    ),
                    {"i": instance},
                ).one()
                if status != "active" or task is None:
                    break
                roll = rng.random()
                if roll < 0.04:
                    lifecycle.cancel(runtime_context(conn, organisation, now=at), [instance])
                elif roll < 0.06:
                    lifecycle.pause(runtime_context(conn, organisation, now=at), [instance])
                elif roll < 0.14:
                    progression.skip_tasks(runtime_context(conn, organisation, now=at), [task])
                elif roll < 0.24:
                    continue  # not done yet: may end up overdue
                else:
                    progression.complete_tasks(runtime_context(conn, organisation, now=at), [task])


def screenshot(browser: str, page: Path, png: Path, width: int = 1200, height: int = 2600) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                "--headless=new",
                "--no-sandbox",  # as root; the page is our own file
                "--disable-gpu",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={png}",
                page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def shrink(png: Path, height: int) -> None:
    """Crop to the page's content height and store with a small palette."""
    from PIL import Image

    with Image.open(png) as image:
        cropped = image.convert("RGB").crop((0, 0, image.width, min(height, image.height)))
    cropped.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(png, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report.png")
    parser.add_argument("--html", type=Path, help="also keep the html page here")
    parser.add_argument("--height", type=int, default=2000, help="pixels of the page to keep")
    parser.add_argument("--server", default=DEFAULT_SERVER)
    args = parser.parse_args()
    browser = find_browser()
    if browser is None:
        print("no Chromium found; install it (Debian: apt-get install chromium)", file=sys.stderr)
        return 1
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with temporary_database(args.server, "screenshot") as url, tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                upgrade(conn, "head")
            simulate_with_templates(engine, url, now)
        finally:
            engine.dispose()
        page = args.html or Path(tmp) / "report.html"
        seqctl = [sys.executable, "-m", "seqctl", "--database-url", url]
        subprocess.run(
            [*seqctl, "report", "--format", "html", "--out", str(page)],
            check=True,
            cwd=ROOT,
        )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        screenshot(browser, page, args.out)
        shrink(args.out, args.height)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")
    return 0


def simulate_with_templates(engine: Engine, url: str, now: datetime) -> None:
    """The demo organisation, the shipped templates (synced), then the history."""
    with engine.begin() as conn:
        load_demo(conn)
    subprocess.run(
        [sys.executable, "-m", "seqctl", "--database-url", url, "sync", "sequences"],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    simulate(engine, now)


if __name__ == "__main__":
    sys.exit(main())

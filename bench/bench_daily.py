"""Daily use on the embedded server kept running with `seqctl db start` (issue 11).

Usage: python bench/bench_daily.py [--rounds 5] [--source]

In a temporary project folder: `seqctl db start`, `seqctl demo`, `seqctl sync` of the
shipped templates; then times, ROUNDS times each and side by side in one run:

- baseline: a bare Python process that imports psycopg, connects to the embedded server
  and runs one query (`SELECT count(*) FROM sequence_instances`);
- `seqctl status`;
- `seqctl apply` of one template to one restaurant (a different template/restaurant pair
  each round, so every round really starts an instance);
- `seqctl task complete --restaurant R` (the active task of that restaurant's sequence).

seqctl's bytecode is written first, as for an installed seqctl (``--source``: not; see
``benchdb.compile_seqctl``). Prints the medians and each command's ratio to the baseline,
and `seqctl db stop`s at the end. Target (issue 11): each ratio ≤ 2.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchdb import compile_seqctl

ROOT = Path(__file__).resolve().parent.parent
RESTAURANTS = ["Luigi's Trattoria", "Sakura Sushi Bar", "El Fogón", "The Copper Pot", "Spice Route"]
TEMPLATES = ["restaurant-onboarding", "follow-up", "demo-booking"]


def seqctl(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SEQCTL_DATABASE_URL", "DATABASE_URL")}
    result = subprocess.run(
        [sys.executable, "-m", "seqctl", *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"seqctl {' '.join(args)} failed: {result.stderr}")
    return result


def timed(command: list[str], cwd: Path) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("SEQCTL_DATABASE_URL", "DATABASE_URL")}
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--source", action="store_true", help="do not write seqctl's bytecode first"
    )
    args = parser.parse_args()
    rounds = args.rounds
    compile_seqctl(not args.source)
    project = Path(tempfile.mkdtemp(prefix="seqctl_bench_daily_"))
    (project / ".git").mkdir()
    shutil.copytree(ROOT / "sequences", project / "sequences")
    try:
        started = seqctl(project, "db", "start")
        url = started.stdout.split("url: ", 1)[1].split()[0]
        seqctl(project, "demo")
        seqctl(project, "sync", "sequences/")
        baseline = [
            sys.executable,
            "-c",
            "import psycopg\n"
            f"with psycopg.connect({url!r}) as c:\n"
            "    c.execute('SELECT count(*) FROM sequence_instances').fetchone()",
        ]
        me = [sys.executable, "-m", "seqctl"]
        pairs = [(t, r) for t in TEMPLATES for r in RESTAURANTS]
        times: dict[str, list[float]] = {"baseline": [], "status": [], "apply": [], "task": []}
        for n in range(rounds):
            template, restaurant = pairs[n % len(pairs)]
            times["baseline"].append(timed(baseline, project))
            times["status"].append(timed([*me, "status"], project))
            times["apply"].append(timed([*me, "apply", "-t", template, "-r", restaurant], project))
            times["task"].append(
                timed([*me, "task", "complete", "-r", restaurant, "-t", template], project)
            )
        base = statistics.median(times["baseline"])
        print(f"rounds: {rounds}; medians (s) and ratio to the bare psycopg process")
        for name, values in times.items():
            median = statistics.median(values)
            print(f"  {name:<9} {median:6.3f}  ×{median / base:4.2f}")
    finally:
        seqctl(project, "db", "stop")
        shutil.rmtree(project, ignore_errors=True)


if __name__ == "__main__":
    main()

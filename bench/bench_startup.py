"""Start-up time of the CLI: `seqctl --version`, `seqctl --help`, `seqctl validate` of one file.

Usage: python bench/bench_startup.py [--runs N]

Baseline in the same run: `python -c pass` (the interpreter alone). Target: `seqctl
--version` under 0.3 s wall on the 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wall(command: list[str], runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=False, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        template = Path(folder) / "one.yaml"
        template.write_text(
            "name: One step\nsteps:\n  - name: Call them\n    type: call\n", encoding="utf-8"
        )
        cases = [
            ("python -c pass (baseline)", [sys.executable, "-c", "pass"]),
            ("seqctl --version", [sys.executable, "-m", "seqctl", "--version"]),
            ("seqctl --help", [sys.executable, "-m", "seqctl", "--help"]),
            (
                "seqctl validate one.yaml",
                [sys.executable, "-m", "seqctl", "validate", str(template)],
            ),
        ]
        print(f"{'command':<32} {'best s':>8} {'median s':>9}")
        for label, command in cases:
            best, median = wall(command, args.runs)
            print(f"{label:<32} {best:>8.3f} {median:>9.3f}")


if __name__ == "__main__":
    main()

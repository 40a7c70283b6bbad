"""Sync of 1,000 templates x 10 steps: first sync, no-op re-sync, 10% of templates changed.

Usage: python bench/bench_sync.py [--database-url URL] [--templates N] [--steps N] [--runs N]

Creates its own database on the server of --database-url (default: PostgreSQL on
127.0.0.1:5432), loads the demo organisation, and drops the database at the end. Each case
is timed in-process (the library call, files already loaded) and as a CLI subprocess
(`python -m seqctl sync DIR`, loading and validating the files included); best of --runs.

Baseline in the same run: one COPY per table of the same rows (what any loader must at
least pay), and the start-up of `python -m seqctl --version`. Also: the number of SQL
statements of each case for N/10 and N templates (must be equal: set-based SQL).

Targets (2-core machine): first sync <= 3 s, no-op <= 1.5 s, each within 5x of the baseline
plus process start-up.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import yaml
from benchdb import DEFAULT_SERVER, counted, temporary_database
from sqlalchemy import Engine, text

from seqctl.db.connection import make_engine
from seqctl.db.demo import load_demo
from seqctl.db.migrate import upgrade
from seqctl.runtime.lookup import Organisation
from seqctl.sync.apply_plan import SyncOptions, sync
from seqctl.sync.inputs import desired_templates
from seqctl.templates.spec import TemplateSpec

TYPES = ("call", "email", "text", "internal_activity", "social_message")


def write_files(folder: Path, count: int, steps: int, changed: int = 0) -> None:
    """``count`` template files; in the first ``changed`` of them step 3 has another delay."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        document = {
            "name": f"Benchmark template {n:05d}",
            "description": f"Template number {n}",
            "tags": ["bench", f"group-{n % 7}"],
            "steps": [
                {
                    "name": f"Step {i + 1} of {n}",
                    "type": TYPES[i % len(TYPES)],
                    "priority": ("low", "medium", "high")[i % 3],
                    "delay_value": i + (5 if n < changed and i == 2 else 0),
                    "delay_unit": "days",
                    **({"task_template": "Intro call script"} if i == 0 else {}),
                    **({"message_template": "Welcome email"} if i == 1 else {}),
                    "custom_message": f"Hi {{first_name}}, step {i + 1}",
                }
                for i in range(steps)
            ],
        }
        (folder / f"bench-{n:05d}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))


def best_of(
    runs: int, action: Callable[[], object], reset: Callable[[], object] | None = None
) -> float:
    times = []
    for _ in range(runs):
        if reset:
            reset()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


class Bench:
    def __init__(self, url: str, runs: int) -> None:
        self.url = url
        self.runs = runs
        self.engine: Engine = make_engine(url)
        with self.engine.begin() as conn:
            upgrade(conn, "head")
            demo = load_demo(conn)
        self.org = Organisation(str(demo["organisation_id"]), str(demo["organisation"]))

    def reset(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text("DELETE FROM sequence_templates WHERE organisation_id = :o"),
                {"o": self.org.id},
            )

    def sync(self, templates: list[TemplateSpec]) -> None:
        with self.engine.begin() as conn:
            sync(conn, templates, self.org, SyncOptions())

    def cli(self, folder: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEQCTL_")}
        done = subprocess.run(
            [sys.executable, "-m", "seqctl", "--database-url", self.url, "sync", folder.name],
            cwd=folder.parent,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"seqctl sync failed: {done.stderr}")

    def statements(self, action: Callable[[], object]) -> int:
        with counted(self.engine) as seen:
            action()
        return len(seen)

    def copy_baseline(self, templates: int, steps: int) -> float:
        """One COPY per table of the same number of rows, committed."""
        template_ids = [str(uuid.uuid4()) for _ in range(templates)]
        rows = io.StringIO()
        for n, template_id in enumerate(template_ids):
            rows.write(
                f"{template_id}\t{self.org.id}\tBenchmark template {n:05d}\t"
                f"Template number {n}\t{{bench}}\t{{}}\n"
            )
        step_rows = io.StringIO()
        for template_id in template_ids:
            for i in range(steps):
                step_rows.write(
                    f"{template_id}\t{i + 1}\tStep {i + 1}\tcall\tmedium\t{i}\tdays\t"
                    f"Hi {{first_name}}\t{{}}\n"
                )
        start = time.perf_counter()
        with psycopg.connect(self.url) as conn:
            with conn.cursor().copy(
                "COPY sequence_templates (id, organisation_id, name, description, tags, metadata)"
                " FROM STDIN"
            ) as copy:
                copy.write(rows.getvalue())
            with conn.cursor().copy(
                "COPY sequence_steps (sequence_template_id, step_order, name, type, priority, "
                "delay_value, delay_unit, custom_message, metadata) FROM STDIN"
            ) as copy:
                copy.write(step_rows.getvalue())
        return time.perf_counter() - start


def measure(bench: Bench, count: int, steps: int, folder: Path) -> dict[str, Any]:
    base, changed, small, small_changed = (
        folder / d for d in ("base", "changed", "small", "small_changed")
    )
    write_files(base, count, steps)
    write_files(changed, count, steps, changed=count // 10)
    write_files(small, count // 10, steps)
    write_files(small_changed, count // 10, steps, changed=count // 100)
    started = time.perf_counter()
    specs = desired_templates([base])[0]
    load_time = time.perf_counter() - started
    specs_changed = desired_templates([changed])[0]
    runs = bench.runs

    library = {
        "first sync": best_of(runs, lambda: bench.sync(specs), bench.reset),
        "no-op re-sync": best_of(runs, lambda: bench.sync(specs)),
        "10% changed": best_of(runs, lambda: bench.sync(specs_changed), lambda: bench.sync(specs)),
    }
    cli = {
        "first sync": best_of(runs, lambda: bench.cli(base), bench.reset),
        "no-op re-sync": best_of(runs, lambda: bench.cli(base)),
        "10% changed": best_of(runs, lambda: bench.cli(changed), lambda: bench.cli(base)),
    }

    def statement_counts(
        base_specs: list[TemplateSpec], changed_specs: list[TemplateSpec]
    ) -> list[int]:
        bench.reset()
        return [
            bench.statements(lambda: bench.sync(base_specs)),
            bench.statements(lambda: bench.sync(base_specs)),
            bench.statements(lambda: bench.sync(changed_specs)),
        ]

    few = statement_counts(desired_templates([small])[0], desired_templates([small_changed])[0])
    many = statement_counts(specs, specs_changed)
    bench.reset()
    baseline = min(bench.copy_baseline(count, steps) for _ in range(runs))
    bench.reset()
    startup = best_of(
        runs,
        lambda: subprocess.run(
            [sys.executable, "-m", "seqctl", "--version"], capture_output=True, check=False
        ),
    )
    statements = {label: (few[i], many[i]) for i, label in enumerate(library)}
    return {
        "library": library,
        "cli": cli,
        "statements": statements,
        "baseline": baseline,
        "startup": startup,
        "load": load_time,
    }


def report(result: dict[str, Any], count: int, steps: int, runs: int) -> None:
    baseline, startup, load = result["baseline"], result["startup"], result["load"]
    print(f"{count} templates x {steps} steps, best of {runs}; the database is dropped after.")
    print(
        f"baseline: one COPY per table of the same rows {baseline:.3f} s; "
        f"`python -m seqctl --version` {startup:.3f} s; "
        f"loading + validating the {count} files {load:.3f} s"
    )
    print()
    print(
        f"{'case':<14} {'library s':>9} {'xCOPY':>6} {'CLI s':>6} {'CLI-load':>8} "
        f"{'5xCOPY+start':>12} {'target':>6} {f'stmts {count // 10}/{count}':>16}  ok"
    )
    targets = {"first sync": 3.0, "no-op re-sync": 1.5, "10% changed": 3.0}
    limit = 5 * baseline + startup
    for label, library in result["library"].items():
        cli = result["cli"][label]
        few, many = result["statements"][label]
        good = (
            library <= 5 * baseline
            and cli - load <= limit
            and cli <= targets[label]
            and few == many
        )
        print(
            f"{label:<14} {library:>9.3f} {library / baseline:>6.1f} {cli:>6.3f} "
            f"{cli - load:>8.3f} {limit:>12.3f} {targets[label]:>6.1f} "
            f"{f'{few} / {many}':>16}  {'yes' if good else 'NO'}"
        )
    print()
    print(
        "library: sync() in-process on loaded templates (x COPY: its multiple of the baseline);"
        "\nCLI: `seqctl sync DIR` as a subprocess, reading and validating the files included;"
        "\nCLI-load: the CLI less the time to load and validate the files (compared with 5 x "
        "COPY + start-up);\nthe 10% case changes one step of every tenth template; ok: all "
        "of these within their limit and target, statement counts equal."
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_SERVER,
        help="a server on which the benchmark may create a database",
    )
    parser.add_argument("--templates", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with temporary_database(args.database_url, "sync") as url:
        bench = Bench(url, args.runs)
        try:
            with tempfile.TemporaryDirectory() as folder:
                result = measure(bench, args.templates, args.steps, Path(folder))
        finally:
            bench.engine.dispose()
    report(result, args.templates, args.steps, args.runs)


if __name__ == "__main__":
    main()

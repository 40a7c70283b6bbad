"""Trust rules of sync, plan and export (spec §7, §3; issue 9 items 1, 7, 9, 10, 13).

Every test runs the real CLI against a real PostgreSQL. Unreadable input is tested two
ways, since the tests run as root (for whom ``chmod 000`` does not stop reading):
in-process, with ``os.scandir`` / ``open`` raising PermissionError for one path, and, where
the machine allows it, in a subprocess running as the unprivileged user ``nobody``.
"""

from __future__ import annotations

import builtins
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from seqctl.sync.actual import signature

from ..acceptance.sync_helpers import (
    SEQUENCES,
    Run,
    dump,
    insert_unmanaged,
    ok,
    templates,
    write_template,
)
from ..conftest import Result


@pytest.fixture
def run(cli: Callable[..., Result], database_url: str, demo_org: str) -> Run:
    def go(*args: str) -> Result:
        return cli("--database-url", database_url, *args)

    return go


def managed_row(engine: Engine, org: str, name: str, key: str, **fields: Any) -> str:
    """A template whose metadata.seqctl was written by hand (as anyone can in the web app)."""
    return insert_unmanaged(
        engine,
        org,
        name,
        steps=[{"name": "Call the owner", "type": "call"}],
        metadata={"seqctl": {"key": key, "source": f"sequences/{name}.yaml", "digest": "x"}},
        **fields,
    )


def active(engine: Engine) -> dict[str, bool]:
    return {key: row["is_active"] for key, row in templates(engine).items()}


# -- 1. export writes only inside --out -------------------------------------------------

BAD_KEYS = [
    "../../escaped",
    "{tmp}/abs-escaped",
    "sub/dir",
    "..",
    "Upper-Case",
    ".hidden",
    "x" * 64,
    "a\nb",
    "",
]


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("key", BAD_KEYS)
def test_export_refuses_a_stored_key_that_is_not_a_valid_key(
    run: Run, engine: Engine, demo_org: str, key: str, force: bool, tmp_path: Path
) -> None:
    template_id = managed_row(engine, demo_org, "Sneaky template", key.format(tmp=tmp_path))
    out = Path("deep/er/exported")
    result = ok(run("export", "--out", str(out), *(["--force"] if force else [])), 1)
    assert "Sneaky template" in result.stderr and template_id in result.stderr
    assert "metadata.seqctl.key" in result.stderr  # how to fix it
    assert not out.exists() or list(out.iterdir()) == []
    assert not Path("escaped.yaml").exists() and not Path("deep/escaped.yaml").exists()
    assert not (tmp_path / "abs-escaped.yaml").exists()
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("force", [False, True])
def test_export_never_writes_through_a_symlink_out_of_out(
    run: Run, engine: Engine, demo_org: str, force: bool
) -> None:
    managed_row(engine, demo_org, "Linked", "linked")
    outside = Path("outside.txt")
    outside.write_text("precious\n")
    out = Path("exported")
    out.mkdir()
    (out / "linked.yaml").symlink_to(Path("..") / outside)
    result = ok(run("export", "--out", str(out), *(["--force"] if force else [])), 1)
    assert "linked.yaml" in result.stderr and "outside" in result.stderr
    assert outside.read_text() == "precious\n"
    assert sorted(p.name for p in out.iterdir()) == ["linked.yaml"]


def test_export_unmanaged_names_stay_inside_out(run: Run, engine: Engine, demo_org: str) -> None:
    insert_unmanaged(engine, demo_org, "../../Up and away", steps=[{"name": "Abc", "type": "call"}])
    insert_unmanaged(engine, demo_org, "/etc/passwd", steps=[{"name": "Abc", "type": "call"}])
    ok(run("export", "--out", "exported"))
    names = sorted(p.name for p in Path("exported").iterdir())
    assert "up-and-away.yaml" in names and "etc-passwd.yaml" in names
    assert all(p.parent == Path("exported") for p in Path("exported").iterdir())


MULTI_LINE = [
    "Line one\nline two",
    "Ends with a newline\n",
    "Two trailing newlines\n\n",
    "  indented first line\nsecond",
    "\n\nstarts with blank lines",
    "# not a comment\n- not a list\nkey: not a mapping",
    "next line\x85character",
    "line\u2028separator and\u2029paragraph",
    "Windows\r\nline ends",
    "trailing space \nhere",
]


def test_export_multi_line_text_round_trips(run: Run, engine: Engine, demo_org: str) -> None:
    for n, value in enumerate(MULTI_LINE):
        insert_unmanaged(
            engine,
            demo_org,
            f"Multi line {n}",
            description=value,
            steps=[{"name": "Text them", "type": "text", "custom_message": value}],
        )
    ok(run("export", "--out", "exported"))
    for n, value in enumerate(MULTI_LINE):
        text_ = Path(f"exported/multi-line-{n}.yaml").read_text(encoding="utf-8")
        document = yaml.safe_load(text_)
        assert document["description"] == value, text_
        assert document["steps"][0]["custom_message"] == value, text_
        if n < 6:  # ordinary multi-line text: literal block scalars, readable in review
            assert "description: |" in text_ and "custom_message: |" in text_, text_
    ok(run("validate", "exported"))
    ok(run("sync", "--adopt", "exported"))
    ok(run("plan", "exported", "--detailed-exitcode"))
    rows = templates(engine)
    assert {rows[f"multi-line-{n}"]["name"] for n in range(len(MULTI_LINE))} == {
        f"Multi line {n}" for n in range(len(MULTI_LINE))
    }


# -- 7. unreadable input is an error ----------------------------------------------------


@pytest.fixture
def unreadable(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    """Make one directory or file unreadable for this process, as chmod 000 would for a
    user who is not root: os.scandir (used by os.walk) and open raise PermissionError."""
    blocked: set[str] = set()
    real_scandir, real_open = os.scandir, builtins.open

    def scandir(path: Any = ".") -> Any:
        if os.path.abspath(os.fspath(path)) in blocked:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    def open_(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, str | os.PathLike) and os.path.abspath(os.fspath(file)) in blocked:
            raise PermissionError(13, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(builtins, "open", open_)
    return lambda path: blocked.add(os.path.abspath(path))


def _three_synced(run: Run) -> None:
    write_template("top")
    write_template("inner-a", directory=SEQUENCES / "team")
    write_template("inner-b", directory=SEQUENCES / "team")
    ok(run("sync"))


@pytest.mark.parametrize("command", ["validate", "plan", "sync", "sync --prune --yes"])
def test_unreadable_directory_fails_and_prunes_nothing(
    run: Run, engine: Engine, unreadable: Callable[[Path], None], command: str
) -> None:
    _three_synced(run)
    before = dump(engine)
    unreadable(SEQUENCES / "team")
    result = ok(run(*command.split(), "sequences"), 1)
    output = result.stdout + result.stderr  # validate reports on stdout
    assert "sequences/team" in output and "ermission denied" in output
    assert dump(engine) == before


@pytest.mark.parametrize("command", ["validate", "plan", "sync --prune --yes"])
def test_unreadable_file_fails_and_prunes_nothing(
    run: Run, engine: Engine, unreadable: Callable[[Path], None], command: str
) -> None:
    _three_synced(run)
    before = dump(engine)
    unreadable(SEQUENCES / "team" / "inner-a.yaml")
    result = ok(run(*command.split(), "sequences"), 1)
    output = result.stdout + result.stderr  # validate reports on stdout
    assert "sequences/team/inner-a.yaml" in output and "cannot read" in output
    assert dump(engine) == before


def test_symlinked_directory_is_followed(run: Run, engine: Engine) -> None:
    write_template("shared", directory=Path("elsewhere"))
    SEQUENCES.mkdir()
    (SEQUENCES / "linked").symlink_to(Path("..") / "elsewhere", target_is_directory=True)
    assert "in 1 file" in ok(run("validate", "sequences")).stdout
    ok(run("sync", "--prune", "--yes", "sequences"))
    assert active(engine) == {"shared": True}
    assert templates(engine)["shared"]["metadata"]["seqctl"]["source"] == (
        "sequences/linked/shared.yaml"
    )


def test_symlink_cycle_is_followed_once_and_warned_about(run: Run, engine: Engine) -> None:
    write_template("a", directory=SEQUENCES / "sub")
    (SEQUENCES / "sub" / "loop").symlink_to(Path(".."), target_is_directory=True)
    (SEQUENCES / "again").symlink_to(Path("sub"), target_is_directory=True)
    result = ok(run("validate", "sequences"))
    assert "loop" in result.stderr + result.stdout
    assert "symbolic link" in result.stderr + result.stdout
    ok(run("sync", "sequences"))
    assert set(templates(engine)) == {"a"}


def _nobody() -> int | None:
    if os.geteuid() != 0:
        return os.geteuid()  # not root: chmod 000 works for this user already
    try:
        import pwd

        return pwd.getpwnam("nobody").pw_uid
    except (KeyError, ImportError):
        return None


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder the unprivileged user can use (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix=f"seqctl-trust-{os.getpid()}-"))
    folder.chmod(0o755)
    yield folder
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(folder, ignore_errors=True)


def test_unreadable_directory_as_an_unprivileged_user(
    database_url: str, demo_org: str, shared_dir: Path
) -> None:
    uid = _nobody()
    if uid is None:
        pytest.skip("no unprivileged user to run as")
    sequences = shared_dir / "sequences"
    write_template("top", directory=sequences)
    write_template("inner", directory=sequences / "team")
    for path in [shared_dir, *shared_dir.rglob("*")]:
        os.chown(path, uid, -1)
    # the test's interpreter may live where that user cannot go (e.g. under /root): run the
    # system's interpreter of the same version on this checkout and its site-packages
    python = next(
        (
            candidate
            for candidate in (f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}",)
            if os.path.exists(candidate)
        ),
        sys.executable,
    )
    root = Path(__file__).resolve().parents[2]
    site = [p for p in sys.path if p.endswith("site-packages")]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(shared_dir),
        "LC_ALL": "C.UTF-8",
        "PYTHONPATH": os.pathsep.join([str(root), *site]),
    }

    def seqctl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [python, "-m", "seqctl", "--database-url", database_url, *args],
            cwd=shared_dir,
            env=env,
            user=uid if os.geteuid() == 0 else None,
            capture_output=True,
            text=True,
            timeout=120,
        )

    first = seqctl("sync", "sequences")
    if first.returncode != 0 and ("No module named" in first.stderr or not first.stderr):
        pytest.skip(f"the unprivileged user cannot run seqctl here: {first.stderr[-200:]}")
    assert first.returncode == 0, first.stderr
    (sequences / "team").chmod(0)
    for command in (["validate"], ["plan"], ["sync", "--prune", "--yes"]):
        result = seqctl(*command, "sequences")
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert "sequences/team" in result.stdout + result.stderr, result.stderr
    (sequences / "team").chmod(0o755)
    assert seqctl("plan", "--detailed-exitcode", "sequences").returncode == 0


# -- 9. apply does not make saved plans stale -------------------------------------------


def test_saved_plan_survives_apply_but_not_a_content_edit(run: Run, engine: Engine) -> None:
    write_template("a")
    write_template("b")
    ok(run("sync"))
    write_template("a", "A renamed")
    ok(run("plan", "--out", "plan.json"))
    ok(run("apply", "--template", "a", "--restaurant", "Luigi's Trattoria"))
    ok(run("apply", "--template", "b", "--restaurant", "Luigi's Trattoria"))
    ok(run("sync", "--plan", "plan.json"))
    assert templates(engine)["a"]["name"] == "A renamed"

    write_template("b", "B renamed")
    ok(run("plan", "--out", "plan.json"))
    with engine.begin() as conn:  # a real content edit (web app): the plan is stale
        conn.execute(
            text("UPDATE sequence_templates SET description = 'edited' WHERE name = 'A renamed'")
        )
    assert "stale plan" in ok(run("sync", "--plan", "plan.json"), 1).stderr


def test_saved_plan_is_stale_after_a_step_edit(run: Run, engine: Engine) -> None:
    write_template("a")
    ok(run("sync"))
    write_template("a", "A renamed")
    ok(run("plan", "--out", "plan.json"))
    with engine.begin() as conn:
        conn.execute(text("UPDATE sequence_steps SET custom_message = 'hi' WHERE step_order = 3"))
    assert "stale plan" in ok(run("sync", "--plan", "plan.json"), 1).stderr


# -- 10. the scope of a sync ------------------------------------------------------------


def test_syncing_one_file_touches_only_that_file(run: Run, engine: Engine) -> None:
    for key in ("one", "two", "three"):
        write_template(key)
    ok(run("sync"))
    write_template("new", directory=Path("drafts"))
    for fmt, expected in (
        ("text", "3 managed template(s) outside the scope"),
        ("markdown", "3 managed template(s) outside the scope"),
    ):
        assert expected in ok(run("plan", "drafts/new.yaml", "--format", fmt)).stdout
    document = json.loads(ok(run("plan", "drafts/new.yaml", "--format", "json")).stdout)
    assert document["summary"]["outside_scope"] == 3
    assert (
        document["summary_line"] == "Plan: 1 to create, 0 to update, 0 to deactivate, 0 to delete"
    )
    ok(run("sync", "--prune", "--yes", "drafts/new.yaml"))
    assert active(engine) == {"one": True, "two": True, "three": True, "new": True}

    # a file is its own scope; a directory covers what lies under it, and nothing else
    (SEQUENCES / "two.yaml").unlink()
    plan = json.loads(ok(run("plan", "sequences/one.yaml", "--format", "json")).stdout)
    assert plan["changes"] == [] and plan["summary"]["outside_scope"] == 3
    ok(run("sync", "sequences"))
    assert active(engine) == {"one": True, "two": False, "three": True, "new": True}
    # "sequences" is not a prefix of "sequences-old/…"
    write_template("old", directory=Path("sequences-old"))
    ok(run("sync", "sequences-old"))
    (SEQUENCES / "three.yaml").unlink()
    ok(run("sync", "sequences"))
    assert active(engine) == {"one": True, "two": False, "three": False, "new": True, "old": True}


def test_directory_scope_is_what_a_search_of_it_finds(run: Run, engine: Engine) -> None:
    write_template("kept")
    write_template("draft", directory=SEQUENCES / ".drafts")
    ok(run("sync", "sequences"))
    ok(run("sync", "sequences/.drafts/draft.yaml"))  # named explicitly: synced
    assert active(engine) == {"kept": True, "draft": True}
    ok(run("sync", "--prune", "--yes", "sequences"))  # the search skips hidden directories
    assert active(engine) == {"kept": True, "draft": True}


def test_source_is_relative_to_the_project_root(run: Run, engine: Engine, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write_template("a")
    write_template("b")
    ok(run("sync", "sequences"))
    sources = {k: r["metadata"]["seqctl"]["source"] for k, r in templates(engine).items()}
    assert sources == {"a": "sequences/a.yaml", "b": "sequences/b.yaml"}
    os.chdir(tmp_path / "sequences")
    ok(run("plan", "--detailed-exitcode", "."))
    ok(run("plan", "--detailed-exitcode", "a.yaml"))
    ok(run("plan", "--detailed-exitcode", str(tmp_path / "sequences")))
    os.chdir(tmp_path.parent)
    ok(run("plan", "--detailed-exitcode", str(tmp_path / "sequences" / "b.yaml")))
    os.chdir(tmp_path / "sequences")
    Path("b.yaml").unlink()
    ok(run("sync", "--prune", "--yes", "."))
    assert set(templates(engine)) == {"a"}
    assert templates(engine)["a"]["metadata"]["seqctl"]["source"] == "sequences/a.yaml"


@pytest.mark.parametrize(
    "stored",
    ["./sequences/{key}.yaml", "{root}/sequences/{key}.yaml", "sequences\\{key}.yaml"],
)
def test_sources_stored_in_an_older_form_keep_working(
    run: Run, engine: Engine, tmp_path: Path, stored: str
) -> None:
    write_template("a")
    write_template("b")
    ok(run("sync", "sequences"))
    with engine.begin() as conn:
        for key in ("a", "b"):
            conn.execute(
                text(
                    "UPDATE sequence_templates SET metadata = jsonb_set(metadata, "
                    "'{seqctl,source}', to_jsonb(CAST(:s AS text))) "
                    "WHERE metadata->'seqctl'->>'key' = :k"
                ),
                {"s": stored.format(key=key, root=tmp_path.as_posix()), "k": key},
            )
    ok(run("plan", "--detailed-exitcode", "sequences"))  # the same file: no change
    (SEQUENCES / "b.yaml").unlink()
    ok(run("sync", "sequences"))  # still in scope: deactivated
    assert active(engine) == {"a": True, "b": False}


# -- 13. numbers that jsonb stores equally are no drift ---------------------------------

NUMBERS = "{zero: -0.0, one: 1.0, hundred: 1.0e+2, small: 1.50, big: 1.0e+20, list: [-0.0, 2.0]}"


def test_equal_numbers_in_metadata_are_not_drift(run: Run, engine: Engine) -> None:
    SEQUENCES.mkdir()
    (SEQUENCES / "numbers.yaml").write_text(
        f"name: Numbers\nmetadata: {NUMBERS}\nsteps:\n"
        f"  - name: Call them\n    type: call\n    metadata: {NUMBERS}\n",
        encoding="utf-8",
    )
    ok(run("sync"))
    first = templates(engine)["numbers"]
    plan = ok(run("plan", "--detailed-exitcode"))
    assert "No changes" in plan.stdout
    ok(run("sync"))
    assert templates(engine)["numbers"]["updated_at"] == first["updated_at"]
    assert templates(engine)["numbers"]["metadata"]["zero"] == 0


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.floats(allow_nan=False, allow_infinity=False),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.sampled_from([-0.0, 0.0, 0, 1.0, 1e2, 1e20, 1e-7, 2.5e-5, 5e-324, -1e300]),
    )
)
def test_number_signature_equals_what_jsonb_reads_back(engine: Engine, number: float) -> None:
    """What the planner compares (signature) is equal for a number and for what jsonb
    stores of it, so no number in metadata can cause perpetual drift."""
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT CAST(:j AS jsonb)::text"), {"j": json.dumps({"n": [number]})}
        ).scalar_one()
    assert signature({"n": [number]}) == signature(json.loads(stored))

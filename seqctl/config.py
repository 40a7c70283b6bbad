"""Settings: command-line flags beat environment variables, which beat ``seqctl.toml``.

Database URLs are secrets: use :func:`mask_url` whenever one is shown.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from .errors import ConfigError

CONFIG_FILE = "seqctl.toml"
# the defaults of every layer, defined once
DEFAULT_PATH = "sequences"  # where template files are looked for
DEFAULT_TIMEZONE = "UTC"
DEFAULT_LOCK_TIMEOUT = 60.0  # seconds a sync waits for another one

# setting name -> environment variables, first found wins
ENVIRONMENT: dict[str, tuple[str, ...]] = {
    "database_url": ("SEQCTL_DATABASE_URL", "DATABASE_URL"),
    "org": ("SEQCTL_ORG",),
    "timezone": ("SEQCTL_TIMEZONE",),
    "user": ("SEQCTL_USER",),
    "overdue_after": ("SEQCTL_OVERDUE_AFTER",),
}
FILE_KEYS = {"database_url", "org", "timezone", "user", "lock_timeout", "overdue_after"}
DEFAULT_OVERDUE_AFTER = "1h"


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    org: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    user: str | None = None
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    debug: bool = False
    overdue_after: str = DEFAULT_OVERDUE_AFTER  # grace after a task's due date (spec §8)

    @property
    def overdue_grace(self) -> timedelta:
        from .durations import parse_duration

        return parse_duration(self.overdue_after, "overdue_after")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# the flag that sets each setting, for messages
FLAGS = {
    "database_url": "--database-url",
    "org": "--org",
    "timezone": "--timezone",
    "user": "--as-user",
    "lock_timeout": "--lock-timeout",
    "overdue_after": "--overdue-after",
}
MAX_LOCK_TIMEOUT = 86400.0  # seconds: one day


def load_settings(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Resolve settings from flags (None = not given), the environment and ``seqctl.toml``.

    An empty value is an error wherever it comes from (a flag, an environment variable that
    is set but empty, or the file): it never means "not set" (which would silently turn off
    row level security, or fall back to the embedded server).
    """
    flags = flags or {}
    environ = os.environ if environ is None else environ
    path = (cwd or Path.cwd()) / CONFIG_FILE
    from_file = read_config_file(path)
    values: dict[str, Any] = {}
    for name in ("database_url", "org", "timezone", "user", "lock_timeout", "overdue_after"):
        if flags.get(name) is not None:
            values[name] = _text(flags[name], f"{FLAGS[name]}", name)
            continue
        variable = next((var for var in ENVIRONMENT.get(name, ()) if var in environ), None)
        if variable is not None:
            values[name] = _text(environ[variable], f"environment variable {variable}", name)
        elif name in from_file:
            values[name] = from_file[name]
    if "timezone" in values:
        _check_timezone(str(values["timezone"]))
    if "lock_timeout" in values:
        values["lock_timeout"] = check_lock_timeout(values["lock_timeout"], "lock_timeout")
    if "overdue_after" in values:
        from .durations import parse_duration

        parse_duration(str(values["overdue_after"]), "overdue_after")
    if values.get("database_url"):
        check_url(str(values["database_url"]))
    return Settings(debug=bool(flags.get("debug")), **values)


def _text(value: Any, where: str, name: str) -> str:
    """A setting's value as text: never empty, no NUL, valid Unicode."""
    if isinstance(value, int | float) and not isinstance(value, bool) and name == "lock_timeout":
        return str(value)
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a string, got {type(value).__name__}")
    if name == "database_url":
        remember_secrets(value)
    if not value.strip():
        raise ConfigError(
            f"{where} is empty",
            hint=f"give a value, or leave the setting out ({_EMPTY_HINTS[name]})",
        )
    if "\x00" in value:
        raise ConfigError(f"{where} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"{where} is not valid UTF-8") from None
    return value


_EMPTY_HINTS = {
    "database_url": "without a database URL seqctl uses the embedded server",
    "org": "without it, seqctl uses the database's only organisation",
    "timezone": "the default is UTC",
    "user": "without --as-user seqctl does not use row level security",
    "lock_timeout": "the default is 60 seconds",
    "overdue_after": "the default is 1h",
}


def check_lock_timeout(value: Any, where: str = "--lock-timeout") -> float:
    """Seconds to wait for a lock: a finite number from 0 to one day."""
    if isinstance(value, bool):
        seconds = math.nan
    else:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = math.nan
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_LOCK_TIMEOUT:
        raise ConfigError(
            f"{where} must be a number of seconds from 0 to {MAX_LOCK_TIMEOUT:g}, got {value!r}"[
                :200
            ],
            hint="e.g. 60 (the default); 0 fails at once when another sync holds the lock",
        )
    return seconds


def read_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    import tomllib  # only where there is a file: every command looks, few projects have one

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror}") from None
    section = data.get("seqctl", data)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [seqctl] must be a table")
    unknown = sorted(set(section) - FILE_KEYS - {"seqctl"})
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting(s) {', '.join(unknown)}",
            hint=f"known settings: {', '.join(sorted(FILE_KEYS))}",
        )
    settings = {key: value for key, value in section.items() if key in FILE_KEYS}
    for key, value in settings.items():
        if key == "lock_timeout":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(
                    f"{path}: lock_timeout must be a number of seconds, got {type(value).__name__}",
                    hint="e.g. lock_timeout = 60",
                )
        else:
            _text(value, f"{path}: {key}", key)
    return settings


def _check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError, ValueError, OSError for absurd names
        raise ConfigError(
            f"unknown time zone {name[:100]!r}",
            hint="use an IANA name such as UTC, Europe/London or America/New_York",
        ) from None


# -- database URLs --------------------------------------------------------------------

SCHEMES = ("postgres", "postgresql", "postgresql+psycopg")
URL_HINT = (
    "use postgresql://USER:PASSWORD@HOST:5432/DBNAME, with special characters in the user "
    "name and password percent-encoded (/ as %2F, ? as %3F, # as %23, @ as %40)"
)
# the libpq parameters whose values are a fixed set (checked here so that a typo is a usage
# error, not "cannot connect")
CHOICES = {
    "sslmode": ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
    "gssencmode": ("disable", "prefer", "require"),
    "channel_binding": ("disable", "prefer", "require"),
    "target_session_attrs": (
        "any",
        "read-write",
        "read-only",
        "primary",
        "standby",
        "prefer-standby",
    ),
    "load_balance_hosts": ("disable", "random"),
    "sslnegotiation": ("postgres", "direct"),
}
_SECRETS: set[str] = set()
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,30}")
_HOST = re.compile(r"[A-Za-z0-9_.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")
_DBNAME = re.compile(r"[A-Za-z0-9_.$-]{1,63}")


def check_url(url: str) -> None:
    """Refuse a database URL seqctl cannot use; the message never shows a secret.

    Keyword/value connection strings (``host=… password=…``) are refused: seqctl takes URLs
    only. A malformed URL is described by the parts that can be shown safely (scheme, host,
    port, database), never by its text.
    """
    remember_secrets(url)
    if "://" not in url:
        if "=" in url:
            raise ConfigError(
                "the database URL is a keyword/value connection string (host=… dbname=…); "
                "seqctl takes a URL",
                hint=URL_HINT,
            )
        raise ConfigError("the database URL is not a URL", hint=URL_HINT)
    scheme, _, rest = url.partition("://")
    if not _SCHEME.fullmatch(scheme):
        raise ConfigError("the database URL has no valid scheme", hint=URL_HINT)
    if scheme.lower() not in SCHEMES:
        raise ConfigError(f"unsupported database URL scheme {scheme!r}", hint=URL_HINT)
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    if "@" in rest[end:]:
        raise ConfigError(
            f"invalid database URL {safe_url(url)}: the user name or password contains "
            "'/', '?', '#' or '@' that is not percent-encoded",
            hint=URL_HINT,
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigError(
            f"invalid database URL {safe_url(url)}: the host or port is not valid "
            "(a port is a number from 1 to 65535)",
            hint=URL_HINT,
        ) from None
    if port == 0:
        raise ConfigError(f"invalid database URL {safe_url(url)}: port 0", hint=URL_HINT)
    _check_parameters(url, scheme)


def _check_parameters(url: str, scheme: str) -> None:
    """libpq's own parse of the URL: percent-encoding, parameter names and fixed choices."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    libpq_url = "postgresql" + url[len(scheme) :]
    try:
        params = conninfo_to_dict(libpq_url)
    except psycopg.Error as error:
        unknown = re.search(r'invalid URI query parameter: "([A-Za-z_]{1,40})"', str(error))
        reason = (
            f"unknown parameter {unknown.group(1)!r}"
            if unknown
            else "it is not a valid connection URL (check the percent-encoding)"
        )
        raise ConfigError(
            f"invalid database URL {safe_url(url)}: {reason}", hint=URL_HINT
        ) from None
    for key in ("password", "sslpassword"):
        if isinstance(params.get(key), str):
            _SECRETS.add(str(params[key]))
    for key, choices in CHOICES.items():
        value = params.get(key)
        if value is not None and value not in choices:
            raise ConfigError(
                f"invalid database URL {safe_url(url)}: {key} must be one of {', '.join(choices)}",
                hint=f"fix or remove ?{key}= in the URL",
            )
    timeout = params.get("connect_timeout")
    if timeout is not None and not str(timeout).strip().isdigit():
        raise ConfigError(
            f"invalid database URL {safe_url(url)}: connect_timeout must be a whole number of "
            "seconds",
            hint="fix or remove ?connect_timeout= in the URL",
        )


def safe_url(url: str) -> str:
    """What of a (possibly malformed) URL can be shown: scheme, host, port and database only,
    each shown only where it parses unambiguously. Never a user, password or query."""
    scheme, sep, rest = url.partition("://")
    if not sep or not _SCHEME.fullmatch(scheme):
        return "(not shown)"
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    if "@" in rest[end:]:
        return f"{scheme}://…"
    authority, path = rest[:end], rest[end:]
    hostinfo = authority.rpartition("@")[2]
    host, colon, port = (
        hostinfo.rpartition(":")
        if not hostinfo.endswith("]")
        else (
            hostinfo,
            "",
            "",
        )
    )
    if not colon:
        host, port = hostinfo, ""
    shown = f"{scheme}://"
    if "@" in authority:
        shown += "…@"
    shown += host if _HOST.fullmatch(host) else ("…" if host else "")
    if port:
        shown += f":{port}" if port.isdigit() and len(port) <= 5 else ":…"
    database = path.split("?", 1)[0].split("#", 1)[0].removeprefix("/") if path else ""
    if database:
        shown += "/" + (database if _DBNAME.fullmatch(database) else "…")
    return shown


def remember_secrets(url: str) -> None:
    """Note the password(s) of a configured URL, so that :func:`redact` hides them anywhere."""
    _, sep, rest = url.partition("://")
    if not sep:  # a keyword/value string or garbage: all of it may be secret
        _SECRETS.add(url)
        for match in re.finditer(r"password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", url, re.IGNORECASE):
            _SECRETS.add(match.group(1).strip("'"))
        return
    userinfo = rest.rpartition("@")[0]
    if ":" in userinfo:
        password = userinfo.split(":", 1)[1]
        _SECRETS.update({password, unquote(password)})
    for key, value in parse_qsl(rest.partition("?")[2], keep_blank_values=True):
        if "password" in key.lower():
            _SECRETS.update({value, quote(value, safe="")})


def redact(text: str, *, patterns: bool = True) -> str:
    """Mask every known password in ``text``; with ``patterns`` (tracebacks, unexpected
    errors) also every database URL and ``password=`` value."""

    def mask(match: re.Match[str]) -> str:
        return mask_url(match.group(0))

    for secret in sorted(_SECRETS, key=len, reverse=True):
        if len(secret) >= 3:
            text = text.replace(secret, "***")
    if not patterns:
        return text
    text = re.sub(r"postgres(?:ql)?(?:\+\w+)?://\S+", mask, text)
    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", text, flags=re.IGNORECASE)


def sqlalchemy_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` URLs, as SQLAlchemy's psycopg 3 dialect wants them."""
    check_url(url)
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql+psycopg"))


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (also in a ``password=`` query); a URL
    that does not parse shows only its safe parts (:func:`safe_url`)."""
    _, sep, rest = url.partition("://")
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    if not sep or "@" in rest[end:]:
        return safe_url(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return safe_url(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostinfo = netloc.rpartition("@")
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{hostinfo}"
    query = (
        "&".join(
            (
                pair.split("=", 1)[0] + "=***"
                if "password" in unquote(pair.split("=", 1)[0]).lower()
                else pair
            )
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
    return _marked_ancestor(here)


def _marked_ancestor(here: Path) -> Path | None:
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
    return _project_path(path, cwd, {})


def project_paths(
    paths: Iterable[str | os.PathLike[str]], cwd: str | os.PathLike[str] | None = None
) -> list[str]:
    """:func:`project_path` of each of ``paths``, the root of each directory searched once
    (a thousand files of one directory cost one search upwards, not a thousand)."""
    roots: dict[str | None, tuple[str, str]] = {}
    return [_project_path(path, cwd, roots) for path in paths]


def _project_path(
    path: str | os.PathLike[str],
    cwd: str | os.PathLike[str] | None,
    roots: dict[str | None, tuple[str, str]],
) -> str:
    absolute = os.path.abspath(path) if cwd is None else os.path.join(os.fspath(cwd), path)
    absolute = os.path.normpath(absolute)
    here = os.path.abspath(absolute)  # (relative when cwd is)
    if not os.path.isdir(here):
        here = os.path.dirname(here)
    if here not in roots:
        root = _marked_ancestor(Path(here))
        if root is None:  # the working directory's root, the same for every such path
            if None not in roots:
                fallback = project_root(cwd)
                roots[None] = (str(fallback), str(fallback.resolve()))
            roots[here] = roots[None]
        else:
            roots[here] = (str(root), str(root.resolve()))
    root_text, resolved_root = roots[here]
    for candidate, base in ((absolute, root_text), (os.path.realpath(absolute), resolved_root)):
        try:
            relative = os.path.relpath(candidate, base)
        except ValueError:  # another drive (Windows)
            continue
        if relative != ".." and not relative.startswith(".." + os.sep):
            return Path(relative).as_posix()
    return Path(absolute).as_posix()

"""The error hierarchy of the seqctl library.

Library code raises these; only the CLI turns them into messages and exit codes.
Every error carries a message (what went wrong, where) and, where one helps, a hint
(how to fix it).
"""

from __future__ import annotations


class SeqctlError(Exception):
    """Base class: a failure the user can act on. Exit code 1."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(SeqctlError):
    """Bad flag, argument or configuration value. Exit code 64."""

    exit_code = 64


class ConfigError(UsageError):
    """An invalid setting in flags, environment or seqctl.toml."""


class InvalidInput(SeqctlError):
    """Template files or other input that failed validation."""


class NotFound(SeqctlError):
    """A named object (organisation, template, restaurant, instance, task) does not exist."""


class Refused(SeqctlError):
    """An operation that is not allowed in the current state (e.g. pausing a completed instance)."""


class Conflict(SeqctlError):
    """A concurrent change or a stale plan."""


class LockTimeout(Conflict):
    """Another run holds the organisation's lock."""


class DatabaseError(SeqctlError):
    """The database rejected a statement."""


class DatabaseUnavailable(SeqctlError):
    """The database cannot be reached. Exit code 3."""

    exit_code = 3


class SchemaNotMigrated(SeqctlError):
    """The database is reachable but seqctl's migrations are missing. Exit code 3."""

    exit_code = 3


class EmbeddedServerError(SeqctlError):
    """The embedded PostgreSQL server could not be started. Exit code 3."""

    exit_code = 3

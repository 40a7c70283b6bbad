"""The run-time context: what every run-time command works in, resolved once.

A command's connection (one transaction), organisation, acting user (``--as-user``), time
zone and clock are resolved by the CLI once, before the library call, and handed to the
run-time entry points (``apply_template``, ``complete_tasks``/``skip_tasks``, ``advance``,
the lifecycle transitions, ``list_instances``/``instance_detail``) as one value instead of
being threaded through every signature. Tests build one with :func:`runtime_context`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from ..config import DEFAULT_TIMEZONE
from ..pg import Connection
from .clock import begin_clock
from .lookup import Organisation, resolve_user


@dataclass(frozen=True, slots=True)
class ActingUser:
    """The user seqctl acts as: their id, and the reference they were given by (shown in
    messages as the person typed it)."""

    id: str
    ref: str


@dataclass(frozen=True, slots=True)
class Context:
    """One run-time command's surroundings.

    ``organisation`` is None only for ``advance --all-organisations``; ``now`` is the clock
    (None: the database's ``now()``; injectable so tests walk a sequence through days).
    """

    conn: Connection
    organisation: Organisation | None
    user: ActingUser | None = None
    timezone: str = DEFAULT_TIMEZONE
    now: datetime | None = None

    @property
    def org(self) -> Organisation:
        """The organisation (every command but ``advance --all-organisations`` has one)."""
        if self.organisation is None:
            raise ValueError("this operation needs an organisation in its context")
        return self.organisation

    @property
    def org_id(self) -> str:
        return self.org.id

    def begin_clock(self) -> datetime:
        """Set the transaction's time zone; the time the command runs at (see ``clock``)."""
        return begin_clock(self.conn, self.timezone, self.now)


R = TypeVar("R")


def action_of(
    run: Callable[[Context, Sequence[str], str], R], action: str, name: str, summary: str
) -> Callable[[Context, Sequence[str]], R]:
    """``run(context, ids, action)`` as a function of its own (``name``, docstring
    ``summary``): the lifecycle transitions and ``complete_tasks``/``skip_tasks``, each a
    row of its module's table of actions."""

    def bound(context: Context, ids: Sequence[str]) -> R:
        return run(context, ids, action)

    bound.__name__ = bound.__qualname__ = name
    bound.__doc__ = summary
    return bound


def runtime_context(
    conn: Connection,
    organisation: Organisation | None,
    *,
    acting_user: str | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    now: datetime | None = None,
) -> Context:
    """A context for library callers (tests, benchmarks): ``acting_user`` (email, UUID or
    short id) is resolved here, once. The CLI resolves it while switching to row level
    security (``lookup.act_as_user``) and builds the :class:`Context` itself."""
    user = None
    if acting_user:
        org_id = organisation.id if organisation is not None else None
        user = ActingUser(resolve_user(conn, acting_user, org_id=org_id), acting_user)
    return Context(conn, organisation, user, timezone, now)

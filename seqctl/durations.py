"""Durations as people write them in flags and ``seqctl.toml``: ``1h``, ``30 minutes``,
``2 days``, ``90s``, ``0``."""

from __future__ import annotations

import re
from datetime import timedelta

from .errors import ConfigError

_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", re.IGNORECASE)
MAX_DURATION = timedelta(days=365)


def parse_duration(value: str, where: str) -> timedelta:
    """``value`` as a duration from 0 to a year; a config error names ``where`` otherwise."""
    match = _DURATION.fullmatch(value)
    unit = match.group(2).lower() if match else ""
    number = float(match.group(1)) if match else -1.0
    if match is None or (unit not in _UNITS and not (unit == "" and number == 0)):
        raise ConfigError(
            f"{where} must be a duration such as 1h, 30m, 90s or 2 days, got {value!r}"[:200],
            hint="units: s, m (minutes), h, d; 0 means overdue as soon as due",
        )
    duration = timedelta(seconds=number * _UNITS.get(unit, 1))
    if duration > MAX_DURATION:
        raise ConfigError(f"{where} must be at most 365 days, got {value!r}"[:200])
    return duration

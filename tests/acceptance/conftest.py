from __future__ import annotations

from collections.abc import Callable

import pytest

from ..conftest import Result
from .sync_helpers import Run


@pytest.fixture
def run(cli: Callable[..., Result], database_url: str, demo_org: str) -> Run:
    """seqctl against the test database (the demo organisation is the only one)."""

    def go(*args: str) -> Result:
        return cli("--database-url", database_url, *args)

    return go

"""The hostile servers (tests/hostile_server.py), started once for the target tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.hostile_server import Hostile, serve_hostile


@pytest.fixture(scope="session")
def hostile() -> Iterator[Hostile]:
    with serve_hostile() as servers:
        yield servers

# Shared test setup: where the project is, and whether a Docker engine must be there
# (MAILLAB_REQUIRE_DOCKER=1 turns the compose tests' skip into a failure, as in CI).
from __future__ import annotations

import os
from pathlib import Path

import pytest

from labctl.backends.compose import engine_available

PROJECT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """Skip (or, with MAILLAB_REQUIRE_DOCKER=1, fail) when no Docker engine answers."""
    if engine_available():
        return
    if os.environ.get("MAILLAB_REQUIRE_DOCKER") == "1":
        pytest.fail("MAILLAB_REQUIRE_DOCKER=1 but no Docker engine answers")
    pytest.skip("no Docker engine answers (set MAILLAB_REQUIRE_DOCKER=1 to fail instead)")

# Shared test setup: where the project is, whether a Docker engine must be there
# (MAILLAB_REQUIRE_DOCKER=1 turns the compose tests' skip into a failure, as in CI),
# the lab instance every test that starts role programs uses (its own name, drawn per
# test session, so its addresses and ports are never those of a lab the user left up:
# every test that opens a socket on a lab address uses TEST_PLAN's addresses, so its
# traffic never lands in the captures of the default lab on the same loopback),
# and a lab token the roles started by tests admit. A socket of the test process that
# touches the default lab's networks fails the test (tests/socket_watch.py).
from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from labctl.agent_auth import DIGEST_FILE_ENV, authorization_headers, token_digest
from labctl.backends.compose import engine_available
from labctl.model import LabInstance, addressing
from labctl.model.instance import INSTANCE_ENV
from tests.socket_watch import DEFAULT_CONTROLLERS, DEFAULT_LAB_NETWORKS, SocketWatch

PROJECT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
TEST_INSTANCE = LabInstance.named(f"test-{secrets.token_hex(4)}")
TEST_PLAN = addressing("local", instance=TEST_INSTANCE)  # where in-process servers listen


def second_test_instance() -> LabInstance:
    """Another instance of the tests' own, on another slot than TEST_INSTANCE's."""
    for n in range(1000):
        instance = LabInstance.named(f"{TEST_INSTANCE.name}-b{n}")
        if instance.slot != TEST_INSTANCE.slot:
            return instance
    raise AssertionError("no second slot found")
AGENT_TOKEN = secrets.token_urlsafe(16)
AGENT_HEADERS = authorization_headers(AGENT_TOKEN)
SOCKET_WATCH = SocketWatch(DEFAULT_LAB_NETWORKS, DEFAULT_CONTROLLERS)

T = TypeVar("T")


def wait_for(condition: Callable[[], T], failure: str, timeout: float = 30.0) -> T:
    """Poll `condition()` until it is true and return that; fail with `failure` after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{failure} (within {timeout:g}s)")
        time.sleep(0.05)
    return result


def pytest_configure(config: pytest.Config) -> None:
    SOCKET_WATCH.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    SOCKET_WATCH.uninstall()


@pytest.fixture(autouse=True)
def stays_off_the_default_lab() -> Iterator[SocketWatch]:
    """Fail the test when a socket of this process touched the default lab's networks."""
    SOCKET_WATCH.bound.clear()
    yield SOCKET_WATCH
    refused, SOCKET_WATCH.refused[:] = list(SOCKET_WATCH.refused), []
    if refused:
        pytest.fail(f"sockets touched the default lab's networks: {refused}")


@pytest.fixture
def agents_admit_test_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Agents created or started from here on admit AGENT_TOKEN; its headers."""
    digest = tmp_path / "agent-token.sha256"
    digest.write_text(token_digest(AGENT_TOKEN))
    monkeypatch.setenv(DIGEST_FILE_ENV, str(digest))
    return AGENT_HEADERS


@pytest.fixture
def in_test_instance(monkeypatch: pytest.MonkeyPatch) -> LabInstance:
    """Role programs started from here on belong to TEST_INSTANCE."""
    monkeypatch.setenv(INSTANCE_ENV, TEST_INSTANCE.name)
    return TEST_INSTANCE


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """Skip (or, with MAILLAB_REQUIRE_DOCKER=1, fail) when no Docker engine answers."""
    if engine_available():
        return
    if os.environ.get("MAILLAB_REQUIRE_DOCKER") == "1":
        pytest.fail("MAILLAB_REQUIRE_DOCKER=1 but no Docker engine answers")
    pytest.skip("no Docker engine answers (set MAILLAB_REQUIRE_DOCKER=1 to fail instead)")

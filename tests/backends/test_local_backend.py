# The local runtime says which role failed and why when the lab cannot come up, and
# leaves no process behind. Every lab here is the test session's own instance.
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from labctl.backends.base import LabError
from labctl.backends.local import LocalBackend, _alive
from labctl.model import MGMT, addressing
from tests.conftest import TEST_INSTANCE


def test_a_role_that_cannot_start_is_named_with_its_last_log_lines(tmp_path: Path) -> None:
    plan = addressing("local", instance=TEST_INSTANCE)
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind((plan.address("sender-mta", MGMT), plan.port("sender-mta", "control")))
    squatter.listen()
    backend = LocalBackend(home=tmp_path, instance=TEST_INSTANCE)
    try:
        with pytest.raises(LabError, match=r"sender-mta exited at start: .*(in use|address)"):
            backend.up(lambda _: None)
        pids = backend._pids()
    finally:
        backend.down(lambda _: None)
        squatter.close()
    assert pids and not any(_alive(pid) for pid in pids.values())
    assert backend.status() == dict.fromkeys(backend.status(), "stopped")

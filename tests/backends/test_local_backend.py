# The local runtime says which role failed and why when the lab cannot come up, and
# leaves no process behind. Every lab here is the test session's own instance.
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from labctl.backends.base import LabError
from labctl.backends.local import LocalBackend, _alive
from labctl.client import ControllerClient
from labctl.model import LAB, MGMT, addressing
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


def _squat_default_lab() -> list[socket.socket]:
    """Listen wherever the default lab would (what a lab the user left up holds already)."""
    default = addressing("local")
    endpoints = {("127.0.0.1", default.controller_port)}
    for role in LAB.roles:
        for service in role.services:
            hosts = [default.address(role, MGMT)] if service.name == "control" else \
                default.lab_addresses(role)
            endpoints |= {(host, default.port(role, service.name)) for host in hosts}
    squatters = []
    for endpoint in sorted(endpoints):
        squatter = socket.socket()
        try:
            squatter.bind(endpoint)
        except OSError:  # held by the user's own lab: just as good
            squatter.close()
            continue
        squatter.listen()
        squatters.append(squatter)
    return squatters


def test_the_test_lab_comes_up_beside_a_default_lab(tmp_path: Path) -> None:
    squatters = _squat_default_lab()
    backend = LocalBackend(home=tmp_path, instance=TEST_INSTANCE)
    try:
        backend.up(lambda _: None)
        assert backend.is_up()
        lab = ControllerClient(backend.controller_url()).request("GET", "/lab")
        assert lab["healthy"] and lab["name"] == "maillab"
    finally:
        backend.down(lambda _: None)
        for squatter in squatters:
            squatter.close()
    assert (tmp_path / TEST_INSTANCE.state_folder / "logs").is_dir()
    assert not (tmp_path / "local").exists(), "the default lab's state folder is untouched"

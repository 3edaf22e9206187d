# The local runtime says which role failed and why when the lab cannot come up, and
# leaves no process behind. Every lab here is the test session's own instance.
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from labctl.backends.base import LabError
from labctl.backends.local import LocalBackend, _alive
from labctl.client import ControllerClient
from labctl.model import LAB, MGMT, addressing
from tests.conftest import SOCKET_WATCH, TEST_INSTANCE

pytestmark = pytest.mark.local


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
            with SOCKET_WATCH.allowing_binds():  # squatting sends nothing to the default lab
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


def test_a_role_displaced_by_a_foreign_server_is_named_not_reported_up(tmp_path: Path) -> None:
    plan = addressing("local", instance=TEST_INSTANCE)
    squatter = socket.socket()  # holds receiver-mta's SMTP port: the real one cannot start
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past earlier TIME_WAITs
    squatter.bind((plan.lab_addresses("receiver-mta")[0], plan.port("receiver-mta", "smtp")))
    squatter.listen()
    foreign = subprocess.Popen(  # while a foreign agent answers /health at its address
        [sys.executable, "-m", "uvicorn", "tests.backends.test_local_backend:health_app",
         "--host", plan.address("receiver-mta", MGMT),
         "--port", str(plan.port("receiver-mta", "control"))],
        stderr=subprocess.DEVNULL)
    backend = LocalBackend(home=tmp_path, instance=TEST_INSTANCE)
    try:
        _wait_answers(plan.control_url("receiver-mta") + "/health", foreign)
        with pytest.raises(LabError, match=r"receiver-mta exited at start: .*in use"):
            backend.up(lambda _: None)
    finally:
        backend.down(lambda _: None)
        foreign.terminate()
        foreign.wait(10)
        squatter.close()


def _wait_answers(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"the foreign server did not answer (exit status {process.poll()})")


health_app = FastAPI()


@health_app.get("/health")
def _health() -> dict[str, str]:
    return {"status": "ok"}


def test_a_lab_that_lost_a_role_is_brought_up_again_before_a_run(tmp_path: Path) -> None:
    from labctl.cli import ensure_up

    backend = LocalBackend(home=tmp_path, instance=TEST_INSTANCE)
    try:
        backend.up(lambda _: None)
        assert backend.roles_down() == []
        receiver = backend._pids()["receiver-mta"]
        os.kill(receiver, signal.SIGKILL)  # the role dies; its controller still answers
        deadline = time.monotonic() + 10
        while _alive(receiver) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert backend.is_up() and backend.roles_down() == ["receiver-mta"]
        ensure_up(backend)  # what `labctl run` and `./maillab demo` do first
        assert backend.roles_down() == [] and backend._pids()["receiver-mta"] != receiver
    finally:
        backend.down(lambda _: None)

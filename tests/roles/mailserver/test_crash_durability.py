# "A message accepted with 250 is never lost, also across a crash": the real mail-server
# program is killed with SIGKILL (with messages queued, and in the middle of relaying)
# and, restarted, relays what it accepted; Bob's mailbox then holds each message once.
# A kill during relay can leave at most one message per open connection delivered but
# not yet removed from the queue; those duplicates are counted and bounded.
from __future__ import annotations

import contextlib
import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from labctl.model import MGMT, addressing
from labctl.model.options import LabOptions
from tests.conftest import AGENT_HEADERS, TEST_INSTANCE, wait_for

PLAN = addressing("local", instance=TEST_INSTANCE)
SERVICES = ("smtp", "submission", "pop3")


def free_port_on(hosts: list[str]) -> int:
    """A port that is free on every one of `hosts` right now."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind((hosts[0], 0))
            port = int(first.getsockname()[1])
            try:
                for host in hosts[1:]:
                    with socket.socket() as other:
                        other.bind((host, port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no common free port on {hosts}")


@dataclass
class ServerProcess:
    """One mail-server process on test-chosen ports; restartable on the same data."""

    role: str
    data: Path
    ports: dict[str, object]
    process: subprocess.Popen[bytes] | None = None

    @property
    def control_url(self) -> str:
        return f"http://{PLAN.address(self.role, MGMT)}:{self.ports['control']}"

    def start(self) -> None:
        log = (self.data.parent / f"{self.role}.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.roles.mailserver.server_process", self.role,
             str(self.data), json.dumps(self.ports)],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.options_env()})
        wait_for(lambda: self._healthy(), f"{self.role} did not come up")

    def options_env(self) -> dict[str, str]:
        return LabOptions().to_env()

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def get(self, path: str) -> list[dict[str, object]]:
        result: list[dict[str, object]] = httpx.get(self.control_url + path, timeout=5,
                                                     headers=AGENT_HEADERS).json()
        return result

    def _healthy(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, (self.data.parent / f"{self.role}.log").read_text()
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(self.control_url + "/health", timeout=0.5).status_code == 200
        return False


@pytest.fixture
def lab_dns(tmp_path: Path, in_test_instance: object) -> Iterator[None]:
    """The lab's name server program (the mail servers' MX lookups ask it), running."""
    log = (tmp_path / "dns.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "roles.dns", "--role", "dns", "--runtime", "local"],
        stdout=log, stderr=subprocess.STDOUT)

    def answering() -> bool:
        assert process.poll() is None, (tmp_path / "dns.log").read_text()
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(PLAN.control_url("dns") + "/health", timeout=0.5).is_success
        return False

    wait_for(answering, "the lab's DNS did not come up")
    yield
    process.terminate()
    process.wait(10)


@pytest.fixture
def pair(tmp_path: Path, lab_dns: None, agents_admit_test_token: object,
         ) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """sender-mta and receiver-mta processes (not started) on free ports, in the test lab."""
    def ports(role: str) -> dict[str, object]:
        hosts = [PLAN.address(role, n) for n in PLAN.lab.role(role).networks if n != MGMT]
        chosen: dict[str, object] = {s: free_port_on(hosts) for s in SERVICES}
        chosen["control"] = free_port_on([PLAN.address(role, MGMT)])
        return chosen

    receiver = ServerProcess("receiver-mta", tmp_path / "receiver", ports("receiver-mta"))
    sender_ports = {**ports("sender-mta"), "peers": {"receiver-mta": receiver.ports["smtp"]}}
    sender = ServerProcess("sender-mta", tmp_path / "sender", sender_ports)
    yield sender, receiver
    for server in (sender, receiver):
        if server.process is not None and server.process.poll() is None:
            server.process.terminate()
            server.process.wait(10)


def submit_many(sender: ServerProcess, subjects: list[str], accepted: list[str]) -> None:
    """Submit one message per subject over one connection; append each 250'd Message-ID."""
    host = PLAN.address("sender-mta", "alice-lan")
    with contextlib.suppress(smtplib.SMTPException, OSError), \
            smtplib.SMTP(host, int(str(sender.ports["submission"])), timeout=10) as client:
        client.login("alice@crepes.fr", "alice-pw")
        for subject in subjects:
            message = EmailMessage()
            message["From"], message["To"] = "alice@crepes.fr", "bob@hamburger.edu"
            message["Subject"], message["Message-ID"] = subject, f"<{subject}@crepes.fr>"
            message.set_content("Accepted, then the server died.\n")
            client.send_message(message)
            accepted.append(message["Message-ID"])


def bobs_message_ids(receiver: ServerProcess) -> Counter[str]:
    return Counter(str(m["message_id"]) for m in receiver.get("/mailboxes/bob@hamburger.edu"))


def test_messages_queued_then_sigkilled_are_each_delivered_once_after_restart(
        pair: tuple[ServerProcess, ServerProcess]) -> None:
    sender, receiver = pair
    sender.start()
    accepted: list[str] = []
    submit_many(sender, [f"queued-{n}" for n in range(20)], accepted)
    assert len(accepted) == 20
    sender.kill()  # no receiver is up, so all 20 are still queued
    receiver.start()
    assert bobs_message_ids(receiver) == Counter()
    sender.start()
    wait_for(lambda: sum(bobs_message_ids(receiver).values()) >= 20, "not all delivered")
    wait_for(lambda: sender.get("/queue") == [], "the queue did not empty")
    assert bobs_message_ids(receiver) == Counter(accepted)


def test_sigkill_during_relay_loses_nothing_and_duplicates_at_most_one_per_connection(
        pair: tuple[ServerProcess, ServerProcess], record_property: Callable[[str, object], None],
) -> None:
    sender, receiver = pair
    receiver.start()
    sender.start()
    accepted: list[str] = []
    submitter = threading.Thread(
        target=submit_many, args=(sender, [f"flowing-{n}" for n in range(400)], accepted))
    submitter.start()
    wait_for(lambda: sum(bobs_message_ids(receiver).values()) >= 30, "relay did not start")
    sender.kill()  # while submission and relay are both under way
    submitter.join(30)
    assert not submitter.is_alive(), "the submission did not end after the kill"
    sender.start()
    wait_for(lambda: set(accepted) <= set(bobs_message_ids(receiver)), "accepted mail lost")
    wait_for(lambda: sender.get("/queue") == [], "the queue did not empty")
    delivered = bobs_message_ids(receiver)
    duplicates = sum(count - 1 for count in delivered.values())
    record_property("duplicates_after_kill", duplicates)
    assert duplicates <= LabOptions().relay_concurrency, delivered.most_common(3)

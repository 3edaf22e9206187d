# "A message accepted with 250 is never lost, also across a crash": the real
# mail-server program is killed with SIGKILL right after its 250 and, restarted,
# still relays the message; Bob's mailbox then holds it exactly once.
from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from labctl.model import addressing
from tests.conftest import AGENT_HEADERS, TEST_INSTANCE

PLAN = addressing("local", instance=TEST_INSTANCE)


def start(role: str, data: Path | None, log: Path) -> subprocess.Popen[bytes]:
    """Run the program of `role` (a mail server, or dns without data) until its agent answers."""
    program = "roles.mailserver" if data else f"roles.{role}"
    process = subprocess.Popen(
        [sys.executable, "-m", program, "--role", role, "--runtime", "local",
         *(["--data", str(data)] if data else [])],
        stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(PLAN.control_url(role) + "/health", timeout=0.5).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{role} did not come up: {log.read_text()}")


@pytest.fixture
def processes(
    in_test_instance: object, agents_admit_test_token: object
) -> Iterator[list[subprocess.Popen[bytes]]]:
    running: list[subprocess.Popen[bytes]] = []
    yield running
    for process in running:
        if process.poll() is None:
            process.terminate()
            process.wait(10)


def bobs_mailbox() -> list[dict[str, str]]:
    url = PLAN.control_url("receiver-mta") + "/mailboxes/bob@hamburger.edu"
    listing: list[dict[str, str]] = httpx.get(url, headers=AGENT_HEADERS, timeout=2).json()
    return listing


def test_message_accepted_then_sigkilled_is_relayed_after_restart(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    processes.append(start("dns", None, tmp_path / "dns.log"))  # the MX lookup asks it
    sender = start("sender-mta", tmp_path / "sender", tmp_path / "sender.log")
    processes.append(sender)
    message = EmailMessage()
    message["From"], message["To"] = "alice@crepes.fr", "bob@hamburger.edu"
    message["Subject"], message["Message-ID"] = "crash test", "<crash-test@crepes.fr>"
    message.set_content("Accepted, then the server died.\n")
    host = PLAN.address("sender-mta", "alice-lan")
    with smtplib.SMTP(host, PLAN.port("sender-mta", "submission"), timeout=10) as smtp:
        smtp.login("alice@crepes.fr", "alice-pw")
        smtp.mail("alice@crepes.fr")
        smtp.rcpt("bob@hamburger.edu")
        code, _ = smtp.data(message.as_bytes())
        assert code == 250
        os.kill(sender.pid, signal.SIGKILL)  # no receiver is up, so it is still queued
    sender.wait(10)

    processes.append(start("receiver-mta", tmp_path / "receiver", tmp_path / "receiver.log"))
    assert bobs_mailbox() == []
    processes.append(start("sender-mta", tmp_path / "sender", tmp_path / "sender.log"))
    deadline = time.monotonic() + 20
    while not bobs_mailbox() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # a duplicate delivery would show up by now
    delivered = [m["message_id"] for m in bobs_mailbox()]
    assert delivered == ["<crash-test@crepes.fr>"]

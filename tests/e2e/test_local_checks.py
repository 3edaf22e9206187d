# Every check type on a correct local lab (both capture modes): one message from Alice
# to Bob, graded by all of them from the per-link captures; each must pass, so that no
# check fails a lab that works (their failing cases: tests/scenarios/checks). And a
# broken hand-written client on the same lab, graded down from the real captures.
from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from labctl.analysis import analyze_captures
from labctl.client import ControllerClient
from labctl.model import INTERNET, addressing
from labctl.scenarios import Evidence, evaluate, parse_scenario
from tests.conftest import DATA, TEST_INSTANCE
from tests.e2e.local_labs import capture_modes, running_local_lab

pytestmark = pytest.mark.local
EVERY_CHECK = DATA / "scenarios" / "every-check.yaml"
PLAN = addressing("local", instance=TEST_INSTANCE)


@pytest.fixture(scope="module", params=capture_modes())
def local_lab(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControllerClient]:
    with running_local_lab(tmp_path_factory.mktemp("maillab-checks"), request.param) as lab:
        yield ControllerClient(lab.controller_url())


def test_every_check_passes_on_a_correct_lab(local_lab: ControllerClient) -> None:
    body = {"scenario": Path(EVERY_CHECK).read_text(), "source": EVERY_CHECK.name}
    report = local_lab.request("POST", "/runs", body)["report"]
    failed = {c["name"]: c["output"] for c in report["checks"] if not c["passed"]}
    relayed = local_lab.request("GET", "/health")["capture_mode"] == "relay"
    if relayed:  # a recording relay records no DNS: that check cannot pass
        lookup = failed.pop("mx looked up")
        assert "expected MX hamburger.edu answered, observed no DNS question" in lookup
    assert failed == {}
    assert report["score"] == report["max_score"] - (1 if relayed else 0)


BROKEN_CLIENT_CHECKS = parse_scenario("""
name: smtp-client
steps: [{send: {to: bob@hamburger.edu, subject: s, body: b}}]
checks:
  - {name: through Alice's server, points: 1, type: hop_absent, hop: sender-ua -> receiver-mta}
  - {name: CRLF, points: 1, type: line_endings, hop: sender-ua -> receiver-mta}
  - {name: waits, points: 1, type: waits_for_replies, hop: sender-ua -> receiver-mta}
""", "smtp-client")


def _broken_client(source: str, server: tuple[str, int]) -> bytes:
    """A hand-written SMTP client gone wrong: straight to Bob's server, lines ended by a
    bare LF, every command sent at once; returns what the server answered."""
    with socket.create_connection(server, timeout=10, source_address=(source, 0)) as sock:
        answered = sock.recv(512)  # the greeting
        sock.sendall(b"HELO crepes.fr\nMAIL FROM:<alice@crepes.fr>\n"
                     b"RCPT TO:<bob@hamburger.edu>\nDATA\n")
        sock.sendall(b"Subject: hi\n\nketchup?\n.\nQUIT\n")
        sock.shutdown(socket.SHUT_WR)
        while chunk := sock.recv(4096):
            answered += chunk
    return answered


def test_a_broken_client_fails_the_checks_on_real_captures(local_lab: ControllerClient) -> None:
    capture = local_lab.request("POST", "/captures", {})
    answered = _broken_client(PLAN.address("sender-ua", "alice-lan"),
                              (PLAN.address("receiver-mta", INTERNET),
                               PLAN.port("receiver-mta", "smtp")))
    assert answered.startswith(b"220 ")
    stopped = local_lab.request("POST", f"/captures/{capture['id']}/stop")
    hops = analyze_captures({n: Path(p) for n, p in stopped["pcaps"].items()}, PLAN)
    evidence = Evidence(BROKEN_CLIENT_CHECKS, hops)
    bypass, endings, waits = (evaluate(c, evidence) for c in BROKEN_CLIENT_CHECKS.checks)
    assert not bypass.passed and "expected no connection, observed" in bypass.output
    assert not endings.passed
    assert "expected CRLF line endings, observed bare LF after HELO" in endings.output
    assert not waits.passed
    assert "observed sent before the reply it awaited: MAIL FROM" in waits.output

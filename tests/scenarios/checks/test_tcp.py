# tcp_connections and tcp_phases on captures the analyzer read: one persistent
# connection for two messages passes, two connections fail; a connection without its
# handshake, without data or without a close fails naming the missing phase.
from __future__ import annotations

from pathlib import Path

import pytest

from tests.scenarios.checks.wire_builders import Wire, capture, compose, grader, smtp

FIRST, SECOND = compose(message_id="<1@crepes.fr>"), compose(message_id="<2@crepes.fr>")
PERSISTENT = "  - {name: n, points: 2, type: tcp_connections, hop: sender-mta -> receiver-mta," \
             " protocol: SMTP, count: 1}\n"
PHASES = "  - {name: n, points: 1, type: tcp_phases, hop: sender-mta -> receiver-mta}\n"


def test_two_messages_over_one_connection_pass(tmp_path: Path) -> None:
    hops = capture(tmp_path, Wire("sender-mta", "receiver-mta", smtp(FIRST, SECOND)))
    result = grader(PERSISTENT).grade(hops)
    assert (result.passed, result.score) == (True, 2)
    assert result.output == (
        "hop sender-mta -> receiver-mta: 1 SMTP connection(s) from client port(s) 40000")


def test_two_connections_where_one_was_expected_fail(tmp_path: Path) -> None:
    hops = capture(tmp_path, Wire("sender-mta", "receiver-mta", smtp(FIRST)),
                   Wire("sender-mta", "receiver-mta", smtp(SECOND)))
    result = grader(PERSISTENT).grade(hops)
    assert (result.passed, result.score) == (False, 0)
    assert result.output == ("hop sender-mta -> receiver-mta: expected 1 SMTP connection(s), "
                             "observed 2 SMTP connection(s) from client port(s) 40000, 40001")
    assert not grader(PERSISTENT).grade([]).passed


def test_phases_of_a_whole_connection_pass(tmp_path: Path) -> None:
    hops = capture(tmp_path, Wire("sender-mta", "receiver-mta", smtp(FIRST)))
    assert grader(PHASES).grade(hops).output == (
        "hop sender-mta -> receiver-mta: handshake, transfer, a close (fin, rst, half-closed) "
        "on all 1 connection(s)")


@pytest.mark.parametrize(("wire", "missing"), [
    (Wire("sender-mta", "receiver-mta", smtp(FIRST), handshake=False),
     "a handshake without SYN, SYN-ACK, ACK"),
    (Wire("sender-mta", "receiver-mta", smtp(FIRST), close="open"),
     "no close (still open when the capture stopped)"),
])
def test_a_missing_phase_fails_naming_it(tmp_path: Path, wire: Wire, missing: str) -> None:
    result = grader(PHASES).grade(capture(tmp_path, wire))
    assert not result.passed
    assert result.output.startswith(
        "hop sender-mta -> receiver-mta: expected handshake, transfer, a close (fin, rst, "
        f"half-closed) on every connection, observed {missing} on ")


@pytest.mark.parametrize(("close", "seen"), [("rst", "a RST"), ("half", "a half close")])
def test_other_closes_fail_when_only_fin_is_accepted(tmp_path: Path, close: str,
                                                     seen: str) -> None:
    check = grader("  - {name: n, points: 1, type: tcp_phases, hop: sender-mta -> receiver-mta,"
                   " close: [fin]}\n")
    hops = capture(tmp_path, Wire("sender-mta", "receiver-mta", smtp(FIRST), close=close))
    result = check.grade(hops)
    assert not result.passed and f"observed {seen} on" in result.output
    assert grader(PHASES).grade(hops).passed  # any close by default


def test_a_connection_without_data_fails_transfer(tmp_path: Path) -> None:
    check = grader("  - {name: n, points: 1, type: tcp_phases, hop: sender-mta -> receiver-mta,"
                   " protocol: SMTP}\n")
    hops = capture(tmp_path, Wire("sender-mta", "receiver-mta", [(False, b"220 hi\r\n")]))
    assert check.grade(hops).passed  # the greeting is data
    empty = capture(tmp_path, Wire("sender-mta", "receiver-mta", []))
    result = grader(PHASES).grade(empty)
    assert not result.passed and result.output.endswith(
        "observed no data transferred on 198.18.2.25:40000 -> 198.18.2.26:25")
    assert not check.grade(empty).passed  # no SMTP connection at all
    no_transfer = PHASES.replace("receiver-mta}", "receiver-mta, transfer: false}")
    assert grader(no_transfer).grade(empty).passed

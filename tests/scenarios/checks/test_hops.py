# hop_protocol, hop_exists, hop_absent and who_opened on captures the analyzer read:
# each passes on the lab drawn in the lecture and fails, for the right reason, on a lab
# set up wrong (POP3 where IMAP is asked, a path around the sender's server, a push).
from __future__ import annotations

from pathlib import Path

from labctl.analysis import analyze_captures
from tests.scenarios.checks.wire_builders import (
    PLAN,
    Wire,
    capture,
    compose,
    grader,
    lines,
    smtp,
)

POP3 = lines("S: +OK ready", "C: USER bob", "S: +OK", "C: PASS pw", "S: +OK",
             "C: QUIT", "S: +OK bye")
IMAP = lines("S: * OK ready", "C: a1 LOGIN bob pw", "S: a1 OK done", "C: a2 LOGOUT",
             "S: * BYE", "S: a2 OK done")
SUBMISSION = Wire("sender-ua", "sender-mta", smtp(compose()), port=587)
RELAY = Wire("sender-mta", "receiver-mta", smtp(compose()))
BYPASS = Wire("sender-ua", "receiver-mta", smtp(compose()))


def test_hop_protocol_wants_imap_and_fails_on_pop3(tmp_path: Path) -> None:
    check = grader("  - {name: n, points: 1, type: hop_protocol, "
                   "hop: receiver-ua -> receiver-mta, expect: IMAP}\n")
    right = capture(tmp_path, Wire("receiver-ua", "receiver-mta", IMAP, port=143))
    assert check.grade(right).passed
    wrong = capture(tmp_path, Wire("receiver-ua", "receiver-mta", POP3, port=143))
    result = check.grade(wrong)
    assert not result.passed and result.score == 0
    assert result.output == "hop receiver-ua -> receiver-mta: expected IMAP, observed POP3"


def test_hop_exists_finds_the_relay_and_names_what_was_seen_instead(tmp_path: Path) -> None:
    check = grader("  - {name: n, points: 1, type: hop_exists, "
                   "hop: sender-mta -> receiver-mta, protocol: smtp}\n")
    assert check.grade(capture(tmp_path, SUBMISSION, RELAY)).output == (
        "hop sender-mta -> receiver-mta: 1 SMTP conversation(s) observed")
    result = check.grade(capture(tmp_path, SUBMISSION, BYPASS))
    assert not result.passed
    assert result.output == (
        "hop sender-mta -> receiver-mta: expected a SMTP conversation, observed none "
        "(the capture holds: sender-ua -> sender-mta SMTP; sender-ua -> receiver-mta SMTP)")


def test_hop_absent_catches_a_message_sent_around_the_senders_server(tmp_path: Path) -> None:
    check = grader("  - {name: n, points: 1, type: hop_absent, "
                   "hop: sender-ua->receiver-mta, protocol: SMTP}\n")
    assert check.grade(capture(tmp_path, SUBMISSION, RELAY)).passed
    result = check.grade(capture(tmp_path, SUBMISSION, BYPASS))
    assert not result.passed
    assert result.output.startswith(
        "hop sender-ua -> receiver-mta: expected no SMTP conversation, observed 1: SMTP ")


def test_hop_absent_counts_a_bare_connection_attempt_without_protocol(tmp_path: Path) -> None:
    check = grader("  - {name: n, points: 1, type: hop_absent, hop: sender-ua -> receiver-mta}\n")
    attempt = Wire("sender-ua", "receiver-mta", [], close="rst")
    result = check.grade(capture(tmp_path, SUBMISSION, attempt))
    assert not result.passed and "expected no connection, observed 1" in result.output


def test_hop_absent_fails_when_nothing_was_captured(tmp_path: Path) -> None:
    check = grader("  - {name: n, points: 1, type: hop_absent, hop: sender-ua -> receiver-mta}\n")
    result = check.grade([])
    assert not result.passed
    assert result.output.endswith("observed an empty capture, which cannot show it")


def test_hop_absent_fails_on_a_capture_read_only_in_part(tmp_path: Path) -> None:
    check = grader("  - {name: n, points: 1, type: hop_absent, hop: sender-ua -> receiver-mta}\n")
    internet = tmp_path / "internet.pcap"
    capture(tmp_path, SUBMISSION, RELAY)
    relay_only = internet.stat().st_size
    capture(tmp_path, SUBMISSION, RELAY, BYPASS)  # the bypass follows the relay on internet
    internet.write_bytes(internet.read_bytes()[:relay_only + 20])  # cut in its first packet
    hops = analyze_captures({"alice-lan": tmp_path / "alice-lan.pcap", "internet": internet},
                            PLAN)
    assert any(h.incomplete for h in hops)
    result = check.grade(hops)
    assert not result.passed
    assert result.output.endswith(f"observed none, but only part of {internet} could be read")


def test_who_opened_pull_passes_and_a_push_to_the_user_agent_fails(tmp_path: Path) -> None:
    check = grader("  - {name: n, points: 1, type: who_opened, "
                   "hop: receiver-ua -> receiver-mta, opener: receiver-ua}\n")
    pull = Wire("receiver-ua", "receiver-mta", POP3, port=110)
    assert check.grade(capture(tmp_path, pull)).output == (
        "hop receiver-ua -> receiver-mta: all 1 connection(s) opened by receiver-ua")
    push = Wire("receiver-mta", "receiver-ua", smtp(compose()))
    result = check.grade(capture(tmp_path, pull, push))
    assert not result.passed
    assert "observed receiver-mta opened SMTP" in result.output


def test_who_opened_gives_no_credit_without_the_syn(tmp_path: Path) -> None:
    check = grader("  - {name: n, points: 1, type: who_opened, "
                   "hop: receiver-ua -> receiver-mta, opener: receiver-ua}\n")
    midstream = Wire("receiver-ua", "receiver-mta", POP3, port=110, handshake=False)
    result = check.grade(capture(tmp_path, midstream))
    assert not result.passed
    assert result.output.endswith("observed 1 connection(s) whose SYN is not in the capture")
    assert not check.grade([]).passed

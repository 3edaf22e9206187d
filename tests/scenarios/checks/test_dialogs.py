# dialog_sequence and reply_code on captures the analyzer read: the ordered commands and
# replies of a dialog, and the code a command got, each passing on the right dialog and
# failing, naming the step, on a wrong one.
from __future__ import annotations

from pathlib import Path

import pytest

from labctl.scenarios import ScenarioError
from tests.scenarios.checks.wire_builders import Wire, capture, compose, grader, lines, smtp

LECTURE = ("  - {name: n, points: 2, type: dialog_sequence, hop: sender-mta -> receiver-mta, "
           "protocol: SMTP, sequence: ['220', HELO|EHLO, MAIL FROM, RCPT TO, DATA, '354', "
           "message, ., '250', QUIT, '221']}\n")
POP3_LOGIN = ("  - {name: n, points: 1, type: dialog_sequence, hop: receiver-ua -> receiver-mta,"
              " sequence: [USER, +OK, PASS, +OK, RETR, +OK, message]}\n")


def test_the_lecture_dialog_passes(tmp_path: Path) -> None:
    hops = capture(tmp_path, Wire("sender-mta", "receiver-mta", smtp(compose())))
    result = grader(LECTURE).grade(hops)
    assert result.passed and result.score == 2
    assert result.output.startswith("hop sender-mta -> receiver-mta: the dialog holds 220, "
                                    "HELO|EHLO, MAIL FROM")


def test_a_dialog_that_never_sends_data_fails_naming_it(tmp_path: Path) -> None:
    wire = lines("S: 220 hi", "C: EHLO crepes.fr", "S: 250 hi", "C: MAIL FROM:<a@crepes.fr>",
                 "S: 250 ok", "C: RCPT TO:<bob@hamburger.edu>", "S: 250 ok", "C: QUIT",
                 "S: 221 bye")
    result = grader(LECTURE).grade(capture(tmp_path, Wire("sender-mta", "receiver-mta", wire)))
    assert not result.passed
    assert result.output == "hop sender-mta -> receiver-mta: SMTP dialog missing DATA after " \
                            "RCPT TO"


def test_a_pop3_download_holds_the_message_the_server_sent(tmp_path: Path) -> None:
    download = lines("S: +OK ready", "C: USER bob", "S: +OK", "C: PASS pw", "S: +OK",
                     "C: RETR 1", "S: +OK 12 octets", "S: Hi Bob", "S: .", "C: QUIT",
                     "S: +OK bye")
    hops = capture(tmp_path, Wire("receiver-ua", "receiver-mta", download, port=110))
    assert grader(POP3_LOGIN).grade(hops).passed
    listed = [(c, d.replace(b"RETR 1", b"LIST")) for c, d in download]
    result = grader(POP3_LOGIN).grade(
        capture(tmp_path, Wire("receiver-ua", "receiver-mta", listed, port=110)))
    assert not result.passed
    assert result.output == "hop receiver-ua -> receiver-mta: dialog missing RETR after +OK"


def test_a_reply_that_is_not_the_expected_one_fails(tmp_path: Path) -> None:
    refused = lines("S: +OK ready", "C: USER bob", "S: +OK", "C: PASS wrong",
                    "S: -ERR invalid password", "C: QUIT", "S: +OK bye")
    hops = capture(tmp_path, Wire("receiver-ua", "receiver-mta", refused, port=110))
    result = grader(POP3_LOGIN).grade(hops)
    assert not result.passed
    assert result.output == ("hop receiver-ua -> receiver-mta: dialog PASS was answered with "
                             "-ERR, expected +OK")
    smtp_only = grader(LECTURE).grade(hops)
    assert smtp_only.output == "hop sender-mta -> receiver-mta: no SMTP conversation, observed " \
                               "nothing"


def test_a_sequence_mixing_codes_and_commands_is_refused_when_loaded() -> None:
    with pytest.raises(ScenarioError, match=r"checks\[0\]\.sequence: .*mixes reply codes"):
        grader("  - {name: n, points: 1, type: dialog_sequence, hop: sender-ua -> sender-mta,"
               " sequence: ['250|EHLO']}\n")


UNKNOWN_USER = ("  - {name: n, points: 1, type: reply_code, hop: sender-mta -> receiver-mta, "
                "command: rcpt to, argument: nobody@, expect: 5xx}\n")


def test_reply_code_to_an_unknown_recipient(tmp_path: Path) -> None:
    wire = smtp(compose(), rcpt_to=("bob@hamburger.edu", "nobody@hamburger.edu"))
    refusing = [(c, d.replace(b"250 ok", b"550 no such user") if i == 8 else d)
                for i, (c, d) in enumerate(wire)]
    assert refusing[7] == (True, b"RCPT TO:<nobody@hamburger.edu>\r\n")
    result = grader(UNKNOWN_USER).grade(
        capture(tmp_path, Wire("sender-mta", "receiver-mta", refusing)))
    assert result.passed, result.output
    assert result.output == ("hop sender-mta -> receiver-mta: RCPT TO containing 'nobody@' "
                             "answered 550 (1 time(s))")
    accepting = grader(UNKNOWN_USER).grade(
        capture(tmp_path, Wire("sender-mta", "receiver-mta", wire)))
    assert not accepting.passed
    assert accepting.output == (
        "hop sender-mta -> receiver-mta: expected RCPT TO containing 'nobody@' answered 5XX, "
        "observed 250 to RCPT TO:<nobody@hamburger.edu>")


def test_reply_code_without_the_command_fails(tmp_path: Path) -> None:
    hops = capture(tmp_path, Wire("sender-mta", "receiver-mta", smtp(compose())))
    result = grader(UNKNOWN_USER).grade(hops)
    assert not result.passed and result.output.endswith("observed no reply to RCPT TO "
                                                        "containing 'nobody@'")

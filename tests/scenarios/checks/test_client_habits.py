# line_endings and waits_for_replies on captures the analyzer read: a client that ends
# lines with CRLF and waits for each reply passes; one that sends bare LF, or pipelines
# where the server did not offer PIPELINING, fails naming what it sent wrong.
from __future__ import annotations

from pathlib import Path

import pytest

from tests.scenarios.checks.wire_builders import Wire, capture, compose, grader, lines, smtp

ENDINGS = "  - {name: n, points: 1, type: line_endings}\n"
WAITS = "  - {name: n, points: 1, type: waits_for_replies, hop: sender-ua -> receiver-mta}\n"


def test_a_correct_client_passes_both(tmp_path: Path) -> None:
    hops = capture(tmp_path, Wire("sender-ua", "sender-mta", smtp(compose()), port=587))
    assert grader(ENDINGS).grade(hops).output == (
        "hop sender-ua -> sender-mta: CRLF line endings in 1 SMTP conversation(s)")
    waits = WAITS.replace("receiver-mta", "sender-mta")
    assert grader(waits).grade(hops).passed


def test_bare_lf_commands_and_content_fail(tmp_path: Path) -> None:
    sloppy = [(c, d.replace(b"\r\n", b"\n") if c and not d.startswith(b"QUIT") else d)
              for c, d in smtp(compose())]
    result = grader(ENDINGS).grade(
        capture(tmp_path, Wire("sender-ua", "sender-mta", sloppy, port=587)))
    assert not result.passed
    assert result.output.startswith("hop sender-ua -> sender-mta: expected CRLF line endings, "
                                    "observed bare LF after EHLO, MAIL FROM, RCPT TO, DATA")


@pytest.mark.parametrize("line", [b"Hi Bob,", b"Tonight?"])  # the last one hides the "."
def test_only_the_message_content_with_bare_lf_fails(tmp_path: Path, line: bytes) -> None:
    content = [(c, d.replace(line + b"\r\n", line + b"\n")) for c, d in smtp(compose())]
    result = grader(ENDINGS).grade(
        capture(tmp_path, Wire("sender-ua", "sender-mta", content, port=587)))
    assert not result.passed and "observed bare LF after message (" in result.output


def test_commands_sent_without_waiting_and_without_pipelining_fail(tmp_path: Path) -> None:
    blind = lines("S: 220 mail.hamburger.edu", "C: HELO crepes.fr",
                  "C: MAIL FROM:<alice@crepes.fr>", "C: RCPT TO:<bob@hamburger.edu>", "C: DATA",
                  "S: 250 hello", "S: 250 ok", "S: 250 ok", "S: 354 go ahead")
    blind += [(True, compose() + b".\r\n"), *lines("S: 250 queued", "C: QUIT", "S: 221 bye")]
    hops = capture(tmp_path, Wire("sender-ua", "receiver-mta", blind))
    result = grader(WAITS).grade(hops)
    assert not result.passed
    assert result.output.startswith(
        "hop sender-ua -> receiver-mta: expected each reply awaited, observed sent before the "
        "reply it awaited: MAIL FROM, RCPT TO, DATA (")


def test_a_message_sent_before_the_354_fails(tmp_path: Path) -> None:
    hasty = lines("S: 220 mail.hamburger.edu", "C: HELO crepes.fr", "S: 250 hello",
                  "C: MAIL FROM:<alice@crepes.fr>", "S: 250 ok", "C: RCPT TO:<bob@hamburger.edu>",
                  "S: 250 ok", "C: DATA")
    hasty += [(True, compose() + b".\r\n"),
              *lines("S: 354 go ahead", "S: 250 queued", "C: QUIT", "S: 221 bye")]
    result = grader(WAITS).grade(capture(tmp_path, Wire("sender-ua", "receiver-mta", hasty)))
    assert not result.passed and "reply it awaited: message (" in result.output


def test_pipelining_the_server_offered_is_allowed(tmp_path: Path) -> None:
    offered = lines("S: 220 mail.hamburger.edu", "C: EHLO crepes.fr", "S: 250-hamburger.edu",
                    "S: 250 PIPELINING", "C: MAIL FROM:<alice@crepes.fr>",
                    "C: RCPT TO:<bob@hamburger.edu>", "C: DATA", "S: 250 ok", "S: 250 ok",
                    "S: 354 go ahead")
    offered += [(True, compose() + b".\r\n"), *lines("S: 250 queued", "C: QUIT", "S: 221 bye")]
    hops = capture(tmp_path, Wire("sender-ua", "receiver-mta", offered))
    assert grader(WAITS).grade(hops).passed
    assert not grader(WAITS).grade([]).passed

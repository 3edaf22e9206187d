# message_intact and envelope_vs_header on captures the analyzer read: the message Alice
# sent crossing both SMTP hops unchanged passes; a body or Subject changed on the way, a
# hop the message never crossed, a refused message, a forged or hidden envelope fail.
from __future__ import annotations

from pathlib import Path

from labctl.analysis import Hop
from tests.scenarios.checks.wire_builders import Wire, capture, compose, grader, smtp

SENT = compose(body="Hi Bob,\n\n.dot line\nTonight?\n")
INTACT = "  - {name: n, points: 3, type: message_intact, of_step: last send}\n"
PATH = "sender-ua -> sender-mta, sender-mta -> receiver-mta"


def _path(tmp_path: Path, relayed: bytes = SENT, mail_from: str = "alice@crepes.fr",
          rcpt_to: tuple[str, ...] = ("bob@hamburger.edu",)) -> list[Hop]:
    """Alice's submission of SENT, then the relay of `relayed` with that envelope."""
    relay = smtp(relayed, mail_from=mail_from, rcpt_to=rcpt_to)
    return capture(tmp_path, Wire("sender-ua", "sender-mta", smtp(SENT), port=587),
                   Wire("sender-mta", "receiver-mta", relay))


def test_the_message_crosses_both_hops_intact(tmp_path: Path) -> None:
    relayed = b"Received: from crepes.fr by mail.crepes.fr\r\n" + SENT  # a header added
    result = grader(INTACT, SENT.replace(b"\r\n", b"\n")).grade(_path(tmp_path, relayed))
    assert (result.passed, result.score) == (True, 3)
    assert result.output == f"<1@crepes.fr> crossed {PATH} with the Subject and body sent"


def test_a_body_changed_on_the_way_fails_on_that_hop(tmp_path: Path) -> None:
    changed = SENT.replace(b"Tonight?", b"Tomorrow?")
    result = grader(INTACT, SENT).grade(_path(tmp_path, changed))
    assert not result.passed
    assert result.output == (
        "hop sender-mta -> receiver-mta: expected <1@crepes.fr> with the Subject and body "
        f"sent, observed a body that differs from the one sent ({len(changed)} octets in all)")


def test_a_subject_changed_on_the_way_fails(tmp_path: Path) -> None:
    changed = SENT.replace(b"Subject: Dinner", b"Subject: Lunch")
    result = grader(INTACT, SENT).grade(_path(tmp_path, changed))
    assert not result.passed
    assert result.output.endswith("observed Subject 'Lunch' where 'Dinner' was sent")


def test_a_message_that_never_crossed_a_hop_fails(tmp_path: Path) -> None:
    other = compose(message_id="<2@crepes.fr>")
    result = grader(INTACT, SENT).grade(_path(tmp_path, other))
    assert not result.passed
    assert result.output.endswith("observed no SMTP transaction of it (1 transaction(s): "
                                  "<2@crepes.fr>)")
    nothing = grader(INTACT, SENT).grade([])
    assert nothing.output.startswith("hop sender-ua -> sender-mta: expected <1@crepes.fr>")


def test_a_refused_message_is_not_delivered_intact(tmp_path: Path) -> None:
    refused = [(c, b"554 rejected\r\n" if d == b"250 queued\r\n" else d) for c, d in smtp(SENT)]
    hops = capture(tmp_path, Wire("sender-ua", "sender-mta", smtp(SENT), port=587),
                   Wire("sender-mta", "receiver-mta", refused))
    result = grader(INTACT, SENT).grade(hops)
    assert not result.passed and result.output.endswith("end of data answered 554, not 2xx")


def test_a_send_step_that_failed_fails(tmp_path: Path) -> None:
    result = grader(INTACT).grade(_path(tmp_path))
    assert result.output == "steps[0] (send) did not complete: no message sent"


SAME = "  - {name: n, points: 1, type: envelope_vs_header}\n"


def test_envelope_and_headers_agree_on_a_plain_relay(tmp_path: Path) -> None:
    result = grader(SAME, SENT).grade(_path(tmp_path))
    assert result.passed, result.output
    assert result.output.endswith("envelope and header addresses the same in 1 transaction(s)")


def test_a_forged_envelope_sender_or_a_hidden_recipient_differs(tmp_path: Path) -> None:
    forged = grader(SAME, SENT).grade(_path(tmp_path, mail_from="mallory@evil.example"))
    assert not forged.passed
    assert forged.output == (
        "hop sender-mta -> receiver-mta: expected envelope and header addresses the same, "
        "observed MAIL FROM <mallory@evil.example> / From <alice@crepes.fr>, "
        "RCPT TO bob@hamburger.edu / To+Cc bob@hamburger.edu")
    hidden = grader(SAME, SENT).grade(
        _path(tmp_path, rcpt_to=("bob@hamburger.edu", "carol@hamburger.edu")))
    assert not hidden.passed and "RCPT TO bob@hamburger.edu, carol@hamburger.edu" in hidden.output
    spoof = "  - {name: n, points: 1, type: envelope_vs_header, expect: different}\n"
    assert grader(spoof, SENT).grade(_path(tmp_path, mail_from="mallory@evil.example")).passed
    assert not grader(spoof, SENT).grade(_path(tmp_path)).passed
    assert grader(spoof, SENT).grade([]).output.endswith("observed no SMTP transaction to "
                                                         "compare")

# Each check type on hand-built hops and messages: passes, failures, and their outputs.
from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import pytest

from labctl.analysis.results import Hop
from labctl.scenarios import Evidence, SentMessage, evaluate, parse_scenario
from labctl.scenarios.schema import Check, Scenario
from tests.scenarios.scenario_builders import conversation, fetch_transcript, hop

SCENARIO = """
name: checks
steps:
  - send: {to: bob@hamburger.edu, subject: Dinner, body: "Hi Bob,\\n\\nTonight?\\n"}
  - fetch: {role: receiver-ua}
checks:
  - {name: submission, points: 1, type: hop_protocol, hop: sender-ua -> sender-mta, expect: SMTP}
  - {name: dialog, points: 2, type: smtp_dialog, hop: sender-mta -> receiver-mta}
  - {name: received, points: 3, type: message_received, of_step: 0}
"""


@pytest.fixture
def scenario() -> Scenario:
    return parse_scenario(SCENARIO, "checks")


def run(scenario: Scenario, index: int, hops: list[Hop] | None = None, **more: Any) -> Any:
    check: Check = scenario.checks[index]
    more.setdefault("hops", hops or [])
    return evaluate(check, Evidence(scenario, **more))


def test_hop_protocol_passes(scenario: Scenario) -> None:
    hops = [hop("sender-ua -> sender-mta", conversation("sender-ua", "sender-mta", "SMTP"))]
    result = run(scenario, 0, hops)
    assert (result.passed, result.score, result.max_score) == (True, 1, 1)
    assert result.output == "hop sender-ua -> sender-mta: SMTP as expected"


def test_hop_protocol_pop3_where_smtp_is_expected(scenario: Scenario) -> None:
    hops = [hop("sender-ua -> sender-mta", conversation("sender-ua", "sender-mta", "POP3"))]
    result = run(scenario, 0, hops)
    assert (result.passed, result.score, result.max_score) == (False, 0, 1)
    assert result.output == "hop sender-ua -> sender-mta: expected SMTP, observed POP3"


def test_hop_protocol_nothing_observed(scenario: Scenario) -> None:
    other = [hop("sender-mta -> receiver-mta", conversation("sender-mta", "receiver-mta", "SMTP"))]
    result = run(scenario, 0, other)
    assert result.output == "hop sender-ua -> sender-mta: expected SMTP, observed nothing"


def test_hop_protocol_mixed_fails_and_empty_connections_are_ignored(scenario: Scenario) -> None:
    empty = conversation("sender-ua", "sender-mta", "unknown")
    mixed = hop(
        "sender-ua -> sender-mta",
        conversation("sender-ua", "sender-mta", "SMTP"),
        empty,
        conversation("sender-ua", "sender-mta", "HTTP"),
    )
    assert run(scenario, 0, [mixed]).output.endswith("observed SMTP, HTTP")
    only_empty = hop(
        "sender-ua -> sender-mta", conversation("sender-ua", "sender-mta", "SMTP"), empty
    )
    assert run(scenario, 0, [only_empty]).passed


def test_smtp_dialog_passes_when_one_conversation_is_complete(
    scenario: Scenario, server_dialog: list[str]
) -> None:
    broken = conversation("sender-mta", "receiver-mta", "SMTP", server_dialog[:5])
    good = conversation("sender-mta", "receiver-mta", "SMTP", server_dialog)
    result = run(scenario, 1, [hop("sender-mta -> receiver-mta", broken, good)])
    assert (result.passed, result.score) == (True, 2)
    assert result.output.startswith("hop sender-mta -> receiver-mta: complete SMTP dialog")


def test_smtp_dialog_names_the_missing_step(scenario: Scenario, server_dialog: list[str]) -> None:
    no_quit = [line for line in server_dialog if not line.startswith(("C: QUIT", "S: 221"))]
    result = run(
        scenario,
        1,
        [
            hop(
                "sender-mta -> receiver-mta",
                conversation("sender-mta", "receiver-mta", "SMTP", no_quit),
            )
        ],
    )
    assert not result.passed and result.score == 0
    assert result.output == "hop sender-mta -> receiver-mta: SMTP dialog missing QUIT after 250"


def test_smtp_dialog_without_smtp(scenario: Scenario) -> None:
    http = hop("sender-mta -> receiver-mta", conversation("sender-mta", "receiver-mta", "HTTP"))
    assert run(scenario, 1, [http]).output == (
        "hop sender-mta -> receiver-mta: no SMTP conversation, observed HTTP"
    )
    assert run(scenario, 1, []).output.endswith("no SMTP conversation, observed nothing")


def compose(body: str = "Hi Bob,\n\nTonight?\n", **headers: str) -> tuple[str, bytes]:
    message = EmailMessage()
    message["From"] = "alice@crepes.fr"
    message["To"] = "bob@hamburger.edu"
    message["Subject"] = "Dinner"
    message["Date"] = formatdate()
    message["Message-ID"] = make_msgid(domain="crepes.fr")
    for name, value in headers.items():
        del message[name]
        message[name] = value
    message.set_content(body)
    return str(message["Message-ID"]), bytes(message)


def sent_and_fetched(sent: bytes, message_id: str, *fetched: bytes,
                     protocol: str = "POP3") -> dict[str, Any]:
    """The message sent, and the capture of Bob's user agent downloading `fetched`."""
    download = conversation("receiver-ua", "receiver-mta", protocol,
                            fetch_transcript(protocol, list(fetched)))
    return {
        "sent": {
            0: SentMessage(message_id.strip("<>"), sent, "alice@crepes.fr", "bob@hamburger.edu")
        },
        "hops": [hop("receiver-ua -> receiver-mta", download)],
    }


@pytest.mark.parametrize("protocol", ["POP3", "IMAP"])
def test_message_received_passes(scenario: Scenario, protocol: str) -> None:
    message_id, raw = compose(body="Hi Bob,\n\n.a dot-stuffed line\nTonight?\n")
    stored = b"Received: from mail.crepes.fr\r\n" + raw.replace(b"\n", b"\r\n")
    _, other = compose()
    result = run(scenario, 2, **sent_and_fetched(raw, message_id, other, stored,
                                                 protocol=protocol))
    assert (result.passed, result.score) == (True, 3), result.output
    assert "same body" in result.output


def test_message_received_reads_the_capture_not_the_user_agent(scenario: Scenario) -> None:
    message_id, raw = compose()
    evidence = sent_and_fetched(raw, message_id, raw)
    evidence["hops"] = [hop("sender-mta -> receiver-mta",  # Bob's link was not captured
                            conversation("sender-mta", "receiver-mta", "SMTP"))]
    result = run(scenario, 2, **evidence)
    assert not result.passed
    assert result.output == ("receiver-ua fetched no messages (none in the capture of its "
                             "connections)")


def test_message_received_failures(scenario: Scenario) -> None:
    message_id, raw = compose()
    assert run(scenario, 2).output == "steps[0] (send) did not complete: no message sent"
    assert run(scenario, 2, **sent_and_fetched(raw, message_id)).output == (
        "receiver-ua fetched no messages (none in the capture of its connections)"
    )
    _, other = compose()
    assert run(scenario, 2, **sent_and_fetched(raw, message_id, other)).output == (
        f"receiver-ua fetched 1 message(s), none with Message-ID {message_id}"
    )
    changed = raw.replace(b"Tonight?", b"Tomorrow?")
    assert (
        "differs from the one sent at line 3"
        in run(scenario, 2, **sent_and_fetched(raw, message_id, changed)).output
    )
    no_date = b"\n".join(line for line in raw.split(b"\n") if not line.startswith(b"Date:"))
    assert run(scenario, 2, **sent_and_fetched(raw, message_id, no_date)).output.endswith(
        "lacks header(s) Date"
    )
    resubjected = raw.replace(b"Subject: Dinner", b"Subject: Lunch")
    assert run(scenario, 2, **sent_and_fetched(raw, message_id, resubjected)).output == (
        "Subject differs: sent 'Dinner', fetched 'Lunch'"
    )


def test_failures_are_explained_by_the_run_problems(scenario: Scenario) -> None:
    problems = ["steps[0] (send) failed: ConnectionRefusedError: refused"]
    failed = run(scenario, 0, problems=problems)
    assert failed.output == (
        "hop sender-ua -> sender-mta: expected SMTP, observed nothing "
        "(run: steps[0] (send) failed: ConnectionRefusedError: refused)"
    )
    ok = [hop("sender-ua -> sender-mta", conversation("sender-ua", "sender-mta", "SMTP"))]
    assert "run:" not in run(scenario, 0, ok, problems=problems).output


def test_a_check_that_crashes_fails_instead(scenario: Scenario) -> None:
    garbage = sent_and_fetched(b"x", "id")
    garbage["hops"] = [12345]  # not a Hop: the check breaks
    result = run(scenario, 2, **garbage)
    assert not result.passed and result.output.startswith("check could not be evaluated")

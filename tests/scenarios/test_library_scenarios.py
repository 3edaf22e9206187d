# The library's scenarios (scenarios/*.yaml) against an in-memory lab: each passes where
# the lab does what the lecture says, and each key check fails, for the right reason,
# where the lab is set up wrong (a duplicate delivery, one connection per message, a
# delete where keep was asked, mail pushed to Bob's user agent, no MX lookup, no
# dot-stuffing, a move that is not kept, a whole message where a byte range was asked,
# SPF rejecting the forged sender, an open relay).
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from labctl.agent_contract import FetchRequest
from labctl.reports import Report
from labctl.scenarios import load_scenario, parse_scenario, run_scenario
from tests.scenarios.memory_lab import MemoryLab
from tests.scenarios.scenario_builders import conversation

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"


def grade(name: str, lab: MemoryLab) -> Report:
    """Run scenarios/NAME.yaml on `lab`."""
    return asyncio.run(run_scenario(load_scenario(LIBRARY / f"{name}.yaml"), lab, "memory"))


def failures(report: Report) -> dict[str, str]:
    """The failed checks of a report: name -> output."""
    return {c.name: c.output for c in report.checks if not c.passed}


@pytest.mark.parametrize("name", ["receiver-down", "persistent-connection", "pop3-delete",
                                  "pop3-keep", "push-vs-pull", "dot-stuffing-8bit", "spoofing",
                                  "no-open-relay", "smtp-dialog"])
def test_library_scenario_passes_on_a_correct_memory_lab(name: str) -> None:
    report = grade(name, MemoryLab())
    assert failures(report) == {}
    assert report.score == report.max_score


def test_receiver_down_fails_a_lab_that_delivers_twice() -> None:
    lab = MemoryLab()
    lab.deliveries = 2
    failed = failures(grade("receiver-down", lab))
    assert list(failed) == ["Delivered exactly once"]
    assert "expected 1 message(s), observed 2 message(s)" in failed["Delivered exactly once"]


def test_receiver_down_fails_a_lab_whose_queue_is_never_retried() -> None:
    lab = MemoryLab()
    lab.flush_delivers = False
    failed = failures(grade("receiver-down", lab))
    assert "queue of sender-mta: expected 0 waiting, observed 1 waiting" in \
        failed["Nothing left in Alice's server's queue"]
    assert "steps[6] (wait_delivered) failed" in failed["Delivered exactly once"]


class OneConnectionPerMessage(MemoryLab):
    """A relay that opens a connection per message (concurrency above 1)."""

    def relay(self, message_ids: list[str], connections: int = 1) -> None:
        super().relay(message_ids, connections=len(message_ids))


def test_persistent_connection_fails_two_connections() -> None:
    failed = failures(grade("persistent-connection", OneConnectionPerMessage()))
    key = failed["One SMTP connection carries both messages"]
    assert "expected 1 SMTP connection(s), observed 2 SMTP connection(s)" in key
    assert "MAIL FROM out of order" in failed["Two transactions, then one QUIT"]


class FetchOverridden(MemoryLab):
    """A user agent that deletes (or keeps) whatever the scenario asked."""

    def __init__(self, delete: bool) -> None:
        super().__init__()
        self.forced_delete = delete

    async def fetch(self, role: str, request: FetchRequest) -> list[bytes]:
        forced = request.model_copy(update={"delete": self.forced_delete})
        return await super().fetch(role, forced)


def test_pop3_delete_fails_a_keep() -> None:
    failed = failures(grade("pop3-delete", FetchOverridden(delete=False)))
    assert "expected 0 message(s), observed 1 message(s)" in \
        failed["The server no longer holds it"]


def test_pop3_keep_fails_a_delete() -> None:
    failed = failures(grade("pop3-keep", FetchOverridden(delete=True)))
    assert list(failed) == ["The server still holds it after both sessions"]
    assert "expected <" in failed["The server still holds it after both sessions"]
    assert "observed 0 message(s)" in failed["The server still holds it after both sessions"]


class PushToBob(MemoryLab):
    """Bob's server pushes his mail to his user agent over SMTP (no pull)."""

    async def fetch(self, role: str, request: FetchRequest) -> list[bytes]:
        self.conversations.append(conversation(
            "receiver-mta", role, "SMTP",
            ["S: 220 bob-pc", "C: EHLO mail.hamburger.edu", "S: 250 hi", "C: QUIT", "S: 221 bye"]))
        return []


def test_push_vs_pull_fails_a_push_to_the_user_agent() -> None:
    failed = failures(grade("push-vs-pull", PushToBob()))
    opened = failed["Bob's user agent opens the connection to its server (pull)"]
    assert "receiver-mta opened SMTP" in opened
    assert "expected no SMTP conversation, observed 1" in \
        failed["No SMTP from Bob's server to his user agent"]
    assert "Alice's server opens the connection to Bob's (push)" not in failed


def test_mx_lookup_fails_a_relay_that_asked_no_dns() -> None:
    failed = failures(grade("mx-lookup", MemoryLab()))
    assert list(failed) == ["The MX of hamburger.edu is looked up before the relay connects"]
    assert "expected MX hamburger.edu answered, observed no DNS question" in \
        failed["The MX of hamburger.edu is looked up before the relay connects"]


class NoDotStuffing(MemoryLab):
    """SMTP clients that send the message's lines as they are: its lone "." ends DATA."""

    def data_lines(self, raw: bytes) -> list[str]:
        return raw.decode().splitlines()


def test_dot_stuffing_fails_a_client_that_does_not_stuff() -> None:
    failed = failures(grade("dot-stuffing-8bit", NoDotStuffing()))
    assert "hop sender-ua -> sender-mta: expected <" in \
        failed["The message crosses both SMTP hops intact"]
    assert "observed a body that differs from the one sent" in \
        failed["The message crosses both SMTP hops intact"]


def test_dot_stuffing_fails_a_server_that_changes_the_stored_body() -> None:
    lab = MemoryLab()
    lab.stored_body_change = b"..and this one"
    failed = failures(grade("dot-stuffing-8bit", lab))
    assert list(failed) == ["Bob's server stores it intact"]
    assert "mailbox bob@hamburger.edu folder INBOX: expected <" in \
        failed["Bob's server stores it intact"]
    assert "a copy whose body differs" in failed["Bob's server stores it intact"]


def test_imap_folders_fails_a_move_that_is_not_kept() -> None:
    failed = failures(grade("imap-folders", MemoryLab()))
    assert "mailbox bob@hamburger.edu folder Trash: expected <" in \
        failed["The message is in Trash on the server"]
    assert "observed it still there" in failed["And no longer in the INBOX"]


def test_imap_partial_fetch_fails_a_whole_message_fetch() -> None:
    failed = failures(grade("imap-partial-fetch", MemoryLab()))
    assert list(failed) == ["The server answers with a byte range of part 1"]
    assert "missing" in failed["The server answers with a byte range of part 1"]


def test_spoofing_fails_where_spf_refuses_the_forged_sender() -> None:
    lab = MemoryLab()
    lab.spf_reject = True
    failed = failures(grade("spoofing", lab))
    assert list(failed) == ["The forged message is accepted (SPF off)"]
    assert "expected . answered 250, observed 550 to ." in \
        failed["The forged message is accepted (SPF off)"]


def test_no_open_relay_fails_an_open_relay() -> None:
    lab = MemoryLab()
    lab.open_relay = True
    failed = failures(grade("no-open-relay", lab))
    assert list(failed) == ["The relay attempt is refused"]
    assert "expected RCPT TO containing 'elsewhere.test' answered 5XX, observed 250 to RCPT " \
           "TO:<victim@elsewhere.test>" in failed["The relay attempt is refused"]


def test_unknown_recipient_fails_a_server_that_takes_mail_for_anyone() -> None:
    # MemoryLab's receiver accepts every recipient: no 550, hence no bounce for Alice.
    text = (LIBRARY / "unknown-recipient.yaml").read_text()
    scenario = parse_scenario(text.replace("timeout_s: 30", "timeout_s: 0.5"), "unknown")
    failed = failures(asyncio.run(run_scenario(scenario, MemoryLab(), "memory")))
    refused = failed["Bob's server refuses the unknown recipient"]
    assert "expected RCPT TO containing 'nobody@hamburger.edu' answered 5XX, observed 250 " \
           "to RCPT TO:<nobody@hamburger.edu>" in refused
    assert "mailbox alice@crepes.fr folder INBOX: expected 1 message(s), observed 0" in \
        failed["Alice gets the bounce"]
    assert "steps[2] (wait_mailbox) failed: the INBOX folder of alice@crepes.fr held 0 " \
           "message(s), not 1" in failed["Alice gets the bounce"]


def test_spoofing_with_spf_junk_fails_a_lab_that_checks_no_spf() -> None:
    # MemoryLab checks no SPF: the forged message is accepted and filed in no Junk folder.
    text = (LIBRARY / "spoofing-spf-junk.yaml").read_text()
    scenario = parse_scenario(text.replace("timeout_s: 10", "timeout_s: 0.5"), "junk")
    failed = failures(asyncio.run(run_scenario(scenario, MemoryLab(), "memory")))
    assert list(failed) == ["The forged message is filed in Bob's Junk folder"]
    assert "mailbox bob@hamburger.edu folder Junk: expected 1 message(s), observed 0" in \
        failed["The forged message is filed in Bob's Junk folder"]


def test_smtp_dialog_fails_a_session_that_never_says_quit() -> None:
    text = (LIBRARY / "smtp-dialog.yaml").read_text()
    scenario = parse_scenario(text.replace("        - QUIT\n", ""), "no-quit")
    failed = failures(asyncio.run(run_scenario(scenario, MemoryLab(), "memory")))
    assert list(failed) == ["The whole dialog, in order"]
    assert "dialog missing QUIT after 250" in failed["The whole dialog, in order"]

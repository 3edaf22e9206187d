# mailbox_state, queue_state and message_intact's stored copy, graded by the real runner
# on an in-memory lab whose mailboxes and queue are what its actions left (the runner
# reads them through LabActions.mailbox/queue after the steps): each passes on the lab
# set up right and fails, for the right reason, on one set up wrong.
from __future__ import annotations

import pytest

from labctl.reports import Report
from labctl.scenarios import ScenarioError, parse_scenario, run_scenario
from labctl.scenarios.actions import StoredMessage
from tests.scenarios.memory_lab import MemoryLab

STEPS = """name: stored
steps:
  - send: {to: bob@hamburger.edu, subject: Dinner, body: "Hi Bob,\\n\\nTonight?\\n"}
  - wait_delivered: {to: bob@hamburger.edu, timeout_s: 1}
  - fetch: {role: receiver-ua, protocol: pop3, delete: %s}
checks:
"""
KEPT = "  - {name: kept, points: 2, type: mailbox_state, count: 1, holds: last send}\n"


async def grade(checks: str, lab: MemoryLab | None = None, delete: bool = False) -> Report:
    scenario = parse_scenario(STEPS % str(delete).lower() + checks, "stored")
    return await run_scenario(scenario, lab or MemoryLab(), "memory")


async def test_download_and_keep_passes_and_a_delete_fails() -> None:
    lab = MemoryLab()
    kept = await grade(KEPT, lab)
    assert kept.passed, kept.checks[0].output
    assert ("mailbox", "bob@hamburger.edu", "INBOX") in lab.calls
    deleted = (await grade(KEPT, delete=True)).checks[0]
    assert not deleted.passed and deleted.score == 0
    assert deleted.output == ("mailbox bob@hamburger.edu folder INBOX: expected 1 message(s), "
                              "observed 0 message(s)")


async def test_download_and_delete_passes_and_a_keep_fails() -> None:
    gone = "  - {name: gone, points: 1, type: mailbox_state, lacks: last send}\n"
    assert (await grade(gone, delete=True)).passed
    kept = (await grade(gone)).checks[0]
    assert not kept.passed and kept.output.endswith("gone, observed it still there")


async def test_flags_of_the_stored_message() -> None:
    seen = "  - {name: seen, points: 1, type: mailbox_state, holds: 0, flags: [Seen]}\n"
    assert (await grade(seen)).passed
    class LosesFlags(MemoryLab):
        async def mailbox(self, address: str, folder: str) -> list[StoredMessage]:
            return [StoredMessage(m.uid, (), m.raw) for m in await super().mailbox(address,
                                                                                 folder)]

    unseen = (await grade(seen, LosesFlags())).checks[0]
    assert not unseen.passed and unseen.output.endswith("flagged Seen, observed no flags")


async def test_an_unreadable_mailbox_fails_and_says_why() -> None:
    class Unreachable(MemoryLab):
        async def mailbox(self, address: str, folder: str) -> list[StoredMessage]:
            raise ConnectionRefusedError("receiver-mta control agent down")

    result = (await grade(KEPT, Unreachable())).checks[0]
    assert not result.passed
    assert result.output.startswith("the INBOX folder of bob@hamburger.edu could not be read "
                                    "(run: ")
    assert "ConnectionRefusedError: receiver-mta control agent down" in result.output


QUEUE_EMPTY = "  - {name: delivered, points: 1, type: queue_state, waiting: 0}\n"
QUEUE_HOLDS = "  - {name: waits, points: 1, type: queue_state, holds: last send, failed: 0}\n"


async def test_a_message_left_in_the_queue_fails_an_empty_queue() -> None:
    assert (await grade(QUEUE_EMPTY)).passed
    stuck = (await grade(QUEUE_EMPTY, MemoryLab(deliver=False))).checks[0]
    assert not stuck.passed
    assert stuck.output.startswith("queue of sender-mta: expected 0 waiting, observed 1 waiting,"
                                   " 0 failed; <")
    assert "to bob@hamburger.edu after 1 attempt(s) (421 receiver-mta unreachable)" in \
        stuck.output


async def test_a_receiver_down_leaves_the_message_waiting() -> None:
    assert (await grade(QUEUE_HOLDS, MemoryLab(deliver=False))).passed
    delivered = (await grade(QUEUE_HOLDS)).checks[0]
    assert not delivered.passed
    assert delivered.output.endswith("waiting, observed 0 waiting, 0 failed")


INTACT = "  - {name: intact, points: 3, type: message_intact, in_mailbox: true}\n"


async def test_message_intact_reads_the_stored_copy() -> None:
    report = await grade(INTACT)
    assert report.passed, report.checks[0].output
    assert report.checks[0].output.endswith(" and is stored so in bob@hamburger.edu's INBOX")
    lab = MemoryLab()
    lab.stored_body_change = b"Tonight?"  # the receiving server damages what it stores
    damaged = (await grade(INTACT, lab)).checks[0]
    assert not damaged.passed
    assert damaged.output.endswith("observed a copy whose body differs from the one sent")
    gone = (await grade(INTACT, delete=True)).checks[0]
    assert not gone.passed and gone.output.endswith("observed no stored copy among 0 message(s)")


@pytest.mark.parametrize(("check", "problem"), [
    ("{name: c, points: 1, type: mailbox_state}", "give count, holds or lacks"),
    ("{name: c, points: 1, type: mailbox_state, count: 1, flags: [Seen]}", "give holds"),
    ("{name: c, points: 1, type: mailbox_state, holds: 1}", "steps[1] is not a send step"),
    ("{name: c, points: 1, type: queue_state, role: receiver-ua, waiting: 0}",
     "'receiver-ua' is not a mail server"),
    ("{name: c, points: 1, type: queue_state}", "give waiting, failed or holds"),
])
def test_stored_state_checks_that_cannot_work_are_refused(check: str, problem: str) -> None:
    with pytest.raises(ScenarioError, match="checks\\[0\\]") as caught:
        parse_scenario(STEPS % "false" + f"  - {check}\n", "f.yaml")
    assert problem in str(caught.value)

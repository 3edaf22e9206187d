# The server steps (server, wait_queued, flush) in scenario files and in the runner: what
# the format accepts and refuses, what the runner asks of the lab, and that a run brings
# back up every server it took down, even when a step failed.
from __future__ import annotations

import asyncio

import pytest

from labctl.scenarios import ScenarioError, parse_scenario, run_scenario
from tests.scenarios.memory_lab import MemoryLab

DOWN_AND_UP = """
name: down-and-up
steps:
  - server: {state: down}
  - send: {to: bob@hamburger.edu, subject: s, body: b}
  - wait_queued: {messages: 1, attempts: 1, timeout_s: 5}
  - server: {role: receiver-mta, state: up}
  - flush: {}
checks:
  - {name: empty, points: 1, type: queue_state, waiting: 0}
"""


def test_server_steps_take_their_defaults_and_run_in_order() -> None:
    scenario = parse_scenario(DOWN_AND_UP, "down-and-up")
    assert [s.kind for s in scenario.steps] == ["server", "send", "wait_queued", "server",
                                                "flush"]
    lab = MemoryLab()
    report = asyncio.run(run_scenario(scenario, lab, "memory"))
    assert report.score == 1
    steps = [c for c in lab.calls if c[0] in ("set_server", "wait_queued", "flush")]
    assert steps == [("set_server", "sender-mta", True), ("set_server", "receiver-mta", True),
                     ("set_server", "receiver-mta", False), ("wait_queued", "sender-mta", 1, 1),
                     ("set_server", "receiver-mta", True), ("flush", "sender-mta"),
                     ("set_server", "receiver-mta", True)]


@pytest.mark.parametrize(("text", "error"), [
    ("- server: {role: sender-ua, state: down}",
     "x:3: steps[0].server.role: 'sender-ua' is not a mail server (mail servers: sender-mta"),
    ("- server: {role: receiver-mta, state: sideways}", "steps[0].server.state"),
    ("- server: {role: receiver-mta, state: down, when: now}", "steps[0].server.when"),
    ("- wait_queued: {attempts: -1}", "steps[0].wait_queued.attempts"),
    ("- wait_queued: {messages: 0}", "steps[0].wait_queued.messages"),
    ("- flush: {role: dns}", "x:3: steps[0].flush.role: 'dns' is not a mail server"),
    ("- flush: {}\n  server: {state: up}", "a step has exactly one of the keys"),
])
def test_bad_server_steps_are_refused_naming_the_field(text: str, error: str) -> None:
    document = f"name: x\nsteps:\n{text}\nchecks:\n- {{name: c, points: 1, type: queue_state, " \
               "waiting: 0}\n"
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(document, "x")
    assert error in str(raised.value)


class FlushFails(MemoryLab):
    """A lab whose flush raises, as a control agent that went away does."""

    async def flush(self, role: str) -> int:
        raise ConnectionRefusedError(f"{role} control agent refused")


def test_a_run_brings_the_servers_it_took_down_back_up_when_a_step_fails() -> None:
    scenario = parse_scenario(DOWN_AND_UP.replace(
        "  - server: {role: receiver-mta, state: up}\n", ""), "down")
    lab = FlushFails()
    report = asyncio.run(run_scenario(scenario, lab, "memory"))
    assert "steps[3] (flush) failed: ConnectionRefusedError" in report.checks[0].output
    assert lab.down == set()
    assert lab.calls[-1] == ("set_server", "receiver-mta", True)


def test_wait_queued_fails_when_fewer_messages_wait() -> None:
    scenario = parse_scenario(DOWN_AND_UP.replace("messages: 1", "messages: 2").replace(
        "waiting: 0", "waiting: 1"), "two")
    lab = MemoryLab()
    output = asyncio.run(run_scenario(scenario, lab, "memory")).checks[0].output
    assert "steps[2] (wait_queued) failed: 2 message(s) did not wait in the queue of " \
           "sender-mta after 1 attempt(s) within 5s" in output
    assert ("wait_queued", "sender-mta", 2, 1) in lab.calls


def test_wait_mailbox_passes_once_the_folder_holds_enough() -> None:
    scenario = parse_scenario("""
name: mailbox
steps:
  - send: {to: bob@hamburger.edu, subject: s, body: b}
  - wait_mailbox: {address: bob@hamburger.edu, count: 1, timeout_s: 5}
checks:
  - {name: one, points: 1, type: mailbox_state, count: 1}
""", "mailbox")
    lab = MemoryLab()
    assert asyncio.run(run_scenario(scenario, lab, "memory")).score == 1
    assert ("mailbox", "bob@hamburger.edu", "INBOX") in lab.calls

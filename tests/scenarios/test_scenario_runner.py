# The runner against an in-memory lab (a test double of LabActions; runner and checks real).
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from labctl.agent_contract import SendVia
from labctl.analysis.results import Hop
from labctl.reports import Report
from labctl.scenarios import (
    LabActions,
    SentMessage,
    load_scenario,
    parse_scenario,
    run_scenario,
    runner,
)
from labctl.scenarios.schema import Scenario, Step, WaitDeliveredStep
from tests.scenarios.memory_lab import MemoryLab

BASIC = Path(__file__).resolve().parents[2] / "scenarios" / "basic-delivery.yaml"


class BrokenLab(MemoryLab):
    """A lab where a chosen action raises, as a real one does when a container is down."""

    def __init__(self, broken: str) -> None:
        super().__init__()
        self.broken = broken

    async def send(
        self, role: str, to: str, subject: str, body: str, headers: dict[str, str],
        via: SendVia = "smtp",
    ) -> SentMessage:
        if self.broken == "send":
            raise ConnectionRefusedError("sender-mta port 587 refused")
        return await super().send(role, to, subject, body, headers, via)

    async def start_capture(self) -> None:
        if self.broken == "start_capture":
            raise RuntimeError("tcpdump not found")
        await super().start_capture()

    async def stop_capture(self) -> list[Hop]:
        if self.broken == "stop_capture":
            raise RuntimeError("pcap truncated")
        return await super().stop_capture()


@pytest.fixture
def basic() -> Scenario:
    return load_scenario(BASIC)


def by_name(report: Report) -> dict[str, str]:
    return {c.name: c.output for c in report.checks if not c.passed}


def test_memory_lab_is_lab_actions() -> None:
    lab: LabActions = MemoryLab()  # mypy: the double has LabActions' shape
    assert lab is not None


async def test_a_server_left_down_by_hand_is_brought_up_before_the_run(
        basic: Scenario) -> None:
    lab = MemoryLab()
    lab.down.add("receiver-mta")  # `labctl server receiver-mta down`, then forgotten
    report = await run_scenario(basic, lab, "memory")
    assert report.passed and lab.down == set()
    assert lab.calls.index(("set_server", "receiver-mta", True)) < lab.calls.index(
        ("start_capture",))


async def test_basic_delivery_passes(basic: Scenario) -> None:
    lab = MemoryLab()
    report = await run_scenario(basic, lab, "memory")
    assert by_name(report) == {}
    assert (report.passed, report.score, report.max_score) == (True, 7, 7)
    assert lab.calls[:2] == [("set_server", "sender-mta", True),  # servers up first
                             ("set_server", "receiver-mta", True)]
    assert [c[0] for c in lab.calls[2:]] == [
        "start_capture",
        "send",
        "wait_delivered",
        "fetch",
        "stop_capture",
    ]
    assert lab.calls[5] == ("fetch", "receiver-ua", "pop3", True)
    assert sorted(
        (h.client_role, h.server_role, h.network, tuple(h.protocols)) for h in report.hops
    ) == [
        ("receiver-ua", "receiver-mta", "bob-lan", ("POP3",)),
        ("sender-mta", "receiver-mta", "internet", ("SMTP",)),
        ("sender-ua", "sender-mta", "alice-lan", ("SMTP",)),
    ]
    assert Report.from_json(report.to_json()) == report


async def test_wrong_protocol_and_incomplete_dialog_lose_their_points(basic: Scenario) -> None:
    report = await run_scenario(
        basic, MemoryLab(quit_after_data=False, submit_protocol="POP3"), "memory"
    )
    submission = "hop sender-ua -> sender-mta: expected SMTP, observed POP3"
    dialog = "hop sender-mta -> receiver-mta: SMTP dialog missing QUIT after 250"
    assert by_name(report) == {
        "Alice's user agent submits with SMTP": submission,
        "The servers run the whole SMTP dialog": dialog,
    }
    assert (report.passed, report.score) == (False, 4)


async def test_failed_send_still_reports(basic: Scenario) -> None:
    lab = BrokenLab("send")
    report = await run_scenario(basic, lab, "memory")
    assert report.score == 1  # only the (empty) POP3 fetch still happened
    failed = by_name(report)
    received = failed["Bob receives the message Alice sent"]
    assert received.startswith("steps[0] (send) did not complete: no message sent (run: ")
    assert "steps[0] (send) failed: ConnectionRefusedError: sender-mta port 587 refused" in received
    assert "steps[1] (wait_delivered) failed: skipped: the message to bob@hamburger.edu" in received
    assert failed["The servers talk SMTP"].startswith(
        "hop sender-mta -> receiver-mta: expected SMTP, observed nothing (run: "
    )
    assert [c[0] for c in lab.calls[2:]] == ["start_capture", "fetch", "stop_capture"]


async def test_message_never_delivered(basic: Scenario) -> None:
    report = await run_scenario(basic, MemoryLab(deliver=False), "memory")
    received = by_name(report)["Bob receives the message Alice sent"]
    assert received.startswith("receiver-ua fetched no messages (none in the capture of its "
                               "connections) (run: steps[1] (wait_delivered)")
    assert "within 30s" in received


@pytest.mark.parametrize("broken", ["start_capture", "stop_capture"])
async def test_capture_trouble_still_reports(basic: Scenario, broken: str) -> None:
    report = await run_scenario(basic, BrokenLab(broken), "memory")
    assert isinstance(report, Report) and report.backend == "memory"
    if broken == "stop_capture":
        assert report.hops == [] and report.score == 0  # no capture: nothing is shown
        assert (
            "capture could not be stopped or analysed: RuntimeError: pcap truncated"
            in (by_name(report)["The servers talk SMTP"])
        )
    else:
        assert report.passed  # the capture was still analysed at stop


async def test_fetch_uses_the_setup_protocol() -> None:
    scenario = parse_scenario(
        "name: imap\nsetup: {fetch_protocol: imap}\n"
        "steps: [{send: {to: bob@hamburger.edu, subject: s, body: b, headers: {X-Lab: '1'}}},"
        " {wait_delivered: {to: bob@hamburger.edu, timeout_s: 2}}, {fetch: {}}]\n"
        "checks: [{name: pulled with IMAP, points: 1, type: hop_protocol,"
        " hop: receiver-ua -> receiver-mta, expect: IMAP},"
        " {name: got it, points: 1, type: message_received}]\n",
        "inline",
    )
    lab = MemoryLab()
    report = await run_scenario(scenario, lab, "memory")
    assert ("fetch", "receiver-ua", "imap", False) in lab.calls
    assert ("wait_delivered", "bob@hamburger.edu", 2.0) in lab.calls
    assert report.passed and report.score == 2


class HangingLab(MemoryLab):
    """A lab whose delivery wait never returns (a wedged agent)."""

    async def wait_delivered(self, address: str, message_id: str, timeout_s: float) -> bool:
        await asyncio.Event().wait()
        return True


async def test_a_hanging_wait_is_cut_off(basic: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "WAIT_GRACE_S", 0.01)
    quick = basic.model_copy(
        update={
            "steps": [
                basic.steps[0],
                Step(wait_delivered=WaitDeliveredStep(to="bob@hamburger.edu", timeout_s=0.01)),
                basic.steps[2],
            ]
        }
    )
    report = await run_scenario(quick, HangingLab(), "memory")
    assert report.passed  # the message was there all along; only the wait was stuck

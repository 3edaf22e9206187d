# The lab options of a scenario's setup in the runner: every mail server takes them
# before the first step and gets its own options back after the run, however the run
# ends (a failed step, a cancelled run); a server that cannot take or give them back is
# a problem of the run, never a crash; a setup without options asks nothing.
from __future__ import annotations

import asyncio
import logging

import pytest

from labctl.agent_contract import SendVia
from labctl.model.options import LabOptions
from labctl.scenarios import SentMessage, parse_scenario, run_scenario, runner
from labctl.scenarios.schema import Scenario
from tests.scenarios.memory_lab import MemoryLab

# The lab as it came up: not the defaults, so a restore to the defaults would show.
LAB_OWN = {"sender-mta": LabOptions(trust_lan=True), "receiver-mta": LabOptions(spf="reject")}


def scenario(setup: str = "{spf: junk, relay_concurrency: 1}") -> Scenario:
    """A one-send scenario whose setup is `setup`."""
    return parse_scenario(
        f"name: opts\nsetup: {setup}\n"
        "steps: [{send: {to: bob@hamburger.edu, subject: s, body: b}}]\n"
        "checks: [{name: c, points: 1, type: smtp_dialog, hop: sender-mta -> receiver-mta}]\n",
        "opts.yaml")


class WatchedLab(MemoryLab):
    """A memory lab that notes the options of every server when a step sends, and whose
    send fails, or is cancelled, when asked."""

    def __init__(self, send_fails: BaseException | None = None) -> None:
        super().__init__()
        self.lab_options = dict(LAB_OWN)
        self.send_fails = send_fails
        self.seen_by_send: dict[str, LabOptions] = {}

    async def send(self, role: str, to: str, subject: str, body: str,
                   headers: dict[str, str], via: SendVia = "smtp") -> SentMessage:
        self.seen_by_send = dict(self.lab_options)
        if self.send_fails is not None:
            raise self.send_fails
        return await super().send(role, to, subject, body, headers, via)


def problems_of(run: Scenario, lab: MemoryLab, caplog: pytest.LogCaptureFixture) -> list[str]:
    """Run `run` on `lab`; the problems of the run, as the runner logs them."""
    with caplog.at_level(logging.WARNING, logger=runner.__name__):
        asyncio.run(run_scenario(run, lab, "memory"))
    prefix = f"scenario {run.name}: "
    return [r.getMessage().removeprefix(prefix) for r in caplog.records
            if r.name == runner.__name__]


def test_every_server_has_the_setups_options_during_the_steps_then_its_own(
        caplog: pytest.LogCaptureFixture) -> None:
    lab = WatchedLab()
    assert problems_of(scenario(), lab, caplog) == []
    assert lab.seen_by_send == {
        "sender-mta": LabOptions(spf="junk", trust_lan=True, relay_concurrency=1),
        "receiver-mta": LabOptions(spf="junk", relay_concurrency=1)}
    assert lab.lab_options == LAB_OWN
    calls = [c[0] for c in lab.calls]
    assert calls.index("set_options") < calls.index("send") < calls.index("stop_capture")
    assert calls.count("set_options") == 4  # set on both servers, then restored on both


def test_a_failed_step_still_gives_the_servers_their_options_back(
        caplog: pytest.LogCaptureFixture) -> None:
    lab = WatchedLab(send_fails=ConnectionRefusedError("port 587 refused"))
    problems = problems_of(scenario(), lab, caplog)
    assert problems[0].startswith("steps[0] (send) failed: ConnectionRefusedError")
    assert lab.seen_by_send["receiver-mta"].spf == "junk"
    assert lab.lab_options == LAB_OWN


def test_a_cancelled_run_still_gives_the_servers_their_options_back() -> None:
    lab = WatchedLab(send_fails=asyncio.CancelledError())
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(run_scenario(scenario(), lab, "memory"))
    assert lab.seen_by_send["sender-mta"].relay_concurrency == 1
    assert lab.lab_options == LAB_OWN


def test_a_server_refusing_the_options_is_a_problem_of_the_run(
        caplog: pytest.LogCaptureFixture) -> None:
    lab = WatchedLab()
    lab.options_refused.add("receiver-mta")
    problems = problems_of(scenario("{spf: junk}"), lab, caplog)
    assert problems == [
        "the lab options {'spf': 'junk'} could not be set on receiver-mta before the run: "
        "ConnectionRefusedError: receiver-mta control agent refused",
        "the lab options of receiver-mta could not be restored after the run: "
        "ConnectionRefusedError: receiver-mta control agent refused"]
    assert lab.seen_by_send["sender-mta"].spf == "junk"
    assert lab.lab_options == LAB_OWN


def test_a_setup_without_options_leaves_them_alone(
        caplog: pytest.LogCaptureFixture) -> None:
    lab = WatchedLab()
    assert problems_of(scenario("{fetch_protocol: imap}"), lab, caplog) == []
    assert not [c for c in lab.calls if c[0] in ("options", "set_options")]
    assert lab.seen_by_send == LAB_OWN

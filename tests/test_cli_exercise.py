# `labctl run` attended: the prompt shown when the run reaches the exercise, Enter typed
# on a pseudo-terminal ending the wait, the timeout said, Ctrl-C cancelling the run; on a
# controller whose lab is not up (its lab actions fail fast, named in the report), talked
# to through the real ControllerClient.
from __future__ import annotations

import os
import pty
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from labctl.cli import build_parser
from labctl.cli_exercise import attend_run, prompt_lines
from labctl.client import ControllerClient
from tests.conftest import wait_for
from tests.controller.test_api import api
from tests.controller.test_runs import scenario

__all__ = ["api"]  # the fixture this module uses


@pytest.fixture
def terminal() -> Iterator[tuple[int, int]]:
    """A pseudo-terminal: (the side the student types on, the side labctl reads)."""
    typed, read = pty.openpty()
    yield typed, read
    os.close(typed)
    os.close(read)


class Attending(threading.Thread):
    """`labctl run` following an attended run, in a thread, keeping what it said."""

    def __init__(self, api: TestClient, keys: int, timeout: float = 900) -> None:
        super().__init__(daemon=True)
        self.client = ControllerClient("http://testserver", http=api)
        self.body = {"scenario": scenario(timeout), "source": "by-hand.yaml"}
        self.keys, self.said = keys, list[str]()
        self.run_result: dict[str, Any] | None = None
        self.error: BaseException | None = None

    def say(self, line: str) -> None:
        self.said.append(line)

    def run(self) -> None:
        try:
            self.run_result = attend_run(self.client, self.body, self.keys, self.say)
        except BaseException as exc:  # the test looks at it (Ctrl-C too)
            self.error = exc

    def result(self) -> dict[str, Any]:
        self.join()
        assert self.error is None and self.run_result is not None, self.error
        return self.run_result


def test_enter_on_the_terminal_ends_the_wait_and_the_report_comes(
        api: TestClient, terminal: tuple[int, int]) -> None:
    typed, read = terminal
    os.write(typed, b"\n")  # typed before the prompt: forgotten, it must not end the wait
    cli = Attending(api, read)
    cli.start()
    wait_for(lambda: "press Enter when done (Ctrl-C cancels the run)" in cli.said,
             "the prompt was never shown")
    run_id = api.get("/runs").json()[-1]
    assert api.get(f"/runs/{run_id}").json()["state"] == "waiting"
    os.write(typed, b"\n")
    run = cli.result()
    assert run["state"] == "done" and run["report"]["scenario"] == "by-hand"
    assert cli.said[0] == "exercise (steps[0]), 15m00s to do it:"
    assert cli.said[1] == "  Type the session on mallory, then press Enter."
    assert cli.said[-1] == "done: grading what was captured"


def test_the_timeout_is_said_and_what_was_captured_graded(
        api: TestClient, terminal: tuple[int, int]) -> None:
    cli = Attending(api, terminal[1], timeout=3)  # seen waiting: the state is read every 0.5s
    cli.start()
    run = cli.result()
    assert cli.said[-1] == "steps[0] (exercise) timed out: grading what was captured"
    assert "timed out after 3s" in run["report"]["checks"][0]["output"]


class CtrlC(Attending):
    """The student presses Ctrl-C once the prompt is shown."""

    def say(self, line: str) -> None:
        super().say(line)
        if line.startswith("press Enter"):
            raise KeyboardInterrupt


def test_ctrl_c_while_waiting_cancels_the_run_and_frees_the_lock(
        api: TestClient, terminal: tuple[int, int]) -> None:
    cli = CtrlC(api, terminal[1])
    cli.start()
    cli.join()
    assert isinstance(cli.error, KeyboardInterrupt)
    run_id = api.get("/runs").json()[-1]
    assert api.get(f"/runs/{run_id}").json()["state"] == "cancelled"
    assert api.post("/runs", json={"scenario": scenario()}).json()["state"] == "done"


def test_a_run_behind_another_says_so_then_waits_for_its_own_student(
        api: TestClient, terminal: tuple[int, int]) -> None:
    first = api.post("/runs", json={"scenario": scenario(), "wait": False, "attended": True})
    wait_for(lambda: api.get(f"/runs/{first.json()['id']}").json()["state"] == "waiting",
             "the first run never waited")
    cli = Attending(api, terminal[1])
    cli.start()
    wait_for(lambda: "another run has the lab: this one starts when it ends" in cli.said,
             "the queued run was not said")
    assert not any(line.startswith("press Enter") for line in cli.said)
    api.post(f"/runs/{first.json()['id']}/continue")
    wait_for(lambda: "press Enter when done (Ctrl-C cancels the run)" in cli.said,
             "the second run never prompted")
    os.write(terminal[0], b"\n")
    assert cli.result()["state"] == "done"


def test_a_prompt_is_wrapped_with_the_time_left() -> None:
    lines = prompt_lines({"step": 2, "prompt": "word " * 30, "time_left_s": 61.7})
    assert lines[0] == "exercise (steps[2]), 1m02s to do it:"
    assert all(len(line) <= 78 for line in lines) and len(lines) == 4


def test_run_takes_unattended() -> None:
    assert build_parser().parse_args(["run", "x.yaml", "--unattended"]).unattended
    assert not build_parser().parse_args(["run", "x.yaml"]).unattended

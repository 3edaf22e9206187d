# `labctl run` of a scenario with exercises, attended: the run starts in the background
# (POST /runs with wait false, attended true), each exercise's prompt is shown when the
# run reaches it, and Enter ends the wait (POST /runs/{id}/continue); the controller ends
# it itself at the exercise's timeout. Ctrl-C cancels the run, which frees the
# controller's run lock. The finished run is what POST /runs answers when it waits.
from __future__ import annotations

import math
import os
import select
import termios
import textwrap
import time
from collections.abc import Callable
from typing import Any

from labctl.client import ControllerClient, ControllerError

POLL_S = 0.5  # how often the run's state is read again
ENDED = ("done", "failed", "cancelled")


def _minutes(seconds: float) -> str:
    """899.9 -> '15m00s'."""
    whole = math.ceil(seconds)
    return f"{whole // 60}m{whole % 60:02d}s"


def prompt_lines(waiting: dict[str, Any]) -> list[str]:
    """What the terminal shows when an exercise starts waiting: its prompt, then how."""
    text = textwrap.wrap(" ".join(str(waiting["prompt"]).split()), 76)
    return [f"exercise (steps[{waiting['step']}]), {_minutes(waiting['time_left_s'])} to do it:",
            *(f"  {line}" for line in text),
            "press Enter when done (Ctrl-C cancels the run)"]


def _enter_pressed(keys: int, within_s: float) -> bool:
    """True when a line (or the end of input) arrives on file descriptor `keys` in time."""
    readable, _, _ = select.select([keys], [], [], within_s)
    if not readable:
        return False
    os.read(keys, 4096)  # the line, and anything typed with it; b"" at end of input
    return True


def _discard_typed_ahead(keys: int) -> None:
    """Forget what was typed before the prompt (an Enter then must not end the wait)."""
    if os.isatty(keys):
        termios.tcflush(keys, termios.TCIFLUSH)


def follow_run(client: ControllerClient, run_id: str, keys: int,
               say: Callable[[str], None]) -> dict[str, Any]:
    """Follow run `run_id` until it ends, prompting at each exercise; the finished run."""
    shown: int | None = None  # the exercise whose prompt is on screen, until it ends
    queued_said = False
    while True:
        run: dict[str, Any] = client.request("GET", f"/runs/{run_id}")
        waiting = run.get("waiting")
        if run["state"] == "queued" and not queued_said:
            say("another run has the lab: this one starts when it ends")
            queued_said = True
        if shown is not None and (waiting is None or waiting["step"] != shown):
            say(f"steps[{shown}] (exercise) timed out: grading what was captured")
            shown = None
        if run["state"] in ENDED:
            if run["state"] != "done":
                raise ControllerError(f"run {run_id} {run['state']}: {run.get('error') or ''}")
            return run
        if waiting is None:
            time.sleep(POLL_S)
            continue
        if shown is None:
            shown = waiting["step"]
            _discard_typed_ahead(keys)
            for line in prompt_lines(waiting):
                say(line)
        if _enter_pressed(keys, POLL_S):
            try:
                client.request("POST", f"/runs/{run_id}/continue")
                say("done: grading what was captured")
            except ControllerError:  # it timed out meanwhile: the next read says so
                continue
            shown = None


def attend_run(client: ControllerClient, body: dict[str, Any], keys: int,
               say: Callable[[str], None]) -> dict[str, Any]:
    """Start the run `body` describes, attended, and follow it (Enter read from `keys`);
    Ctrl-C cancels it on the controller before it goes on up."""
    run_id = client.request("POST", "/runs", {**body, "wait": False, "attended": True})["id"]
    try:
        return follow_run(client, run_id, keys, say)
    except KeyboardInterrupt:
        client.request("POST", f"/runs/{run_id}/cancel")
        raise

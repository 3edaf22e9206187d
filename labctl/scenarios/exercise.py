# The exercise step: the run waits, with a prompt and a timeout, while the student works
# by hand (`labctl shell mallory`, telnet, nc...), and the captures, on all the while,
# record what they did; or, when nobody attends the run (tests, CI), its stand-in steps
# play the student. It lives apart from schema.py, which lists it among the step kinds.
#
# Who waits is a Student: None means the run is unattended (the stand-in runs); a Desk
# is an attended run's place where the prompt is shown and the student's "done" arrives
# (the controller's POST /runs/{id}/continue). Steps after an exercise must hold for the
# student and the stand-in alike, so nothing refers to a stand-in's steps by index: wait
# for what the student did with wait_mailbox, and grade it from the capture.
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Literal, Protocol

from pydantic import AfterValidator, Field

from labctl.scenarios.fields import Strict

if TYPE_CHECKING:
    from labctl.scenarios.schema import Step

ExerciseOutcome = Literal["done", "timed out", "stand-in"]


def _ordinary(step: Step) -> Step:
    """A stand-in step: any step but another exercise."""
    if step.kind == "exercise":
        raise ValueError("a stand-in holds ordinary steps, not another exercise")
    return step


class ExerciseStep(Strict):
    """Wait, showing `prompt`, until the student says done or `timeout_s` passed; when
    the run is unattended, run the `stand_in` steps instead."""

    prompt: str = Field(min_length=1)
    timeout_s: float = Field(900.0, gt=0)
    stand_in: list[Annotated[Step, AfterValidator(_ordinary)]] = Field(min_length=1)


class Student(Protocol):
    """Whoever an attended run waits for during an exercise."""

    async def attend(self, index: int, exercise: ExerciseStep) -> bool:
        """Show the exercise; True once the student says done, False on its timeout."""
        ...


@dataclass(frozen=True)
class Waiting:
    """An exercise an attended run waits on: which step, its prompt, until when."""

    index: int
    prompt: str
    timeout_s: float
    deadline: float  # time.monotonic() at which the wait ends

    def time_left_s(self) -> float:
        """Seconds until the exercise times out (0 when it has)."""
        return max(0.0, self.deadline - time.monotonic())


class Desk:
    """An attended run's Student: the exercise waiting (for GET) and its end (continue)."""

    def __init__(self) -> None:
        self.waiting: Waiting | None = None
        self._done = asyncio.Event()

    async def attend(self, index: int, exercise: ExerciseStep) -> bool:
        """Wait until proceed() is called (True) or the exercise times out (False)."""
        self._done.clear()
        self.waiting = Waiting(index, exercise.prompt, exercise.timeout_s,
                               time.monotonic() + exercise.timeout_s)
        try:
            async with asyncio.timeout(exercise.timeout_s):
                await self._done.wait()
            return True
        except TimeoutError:
            return False
        finally:
            self.waiting = None

    def proceed(self) -> bool:
        """The student is done: end the wait; False when no exercise is waiting."""
        if self.waiting is None:
            return False
        self._done.set()
        return True


def outcome_note(index: int, exercise: ExerciseStep, outcome: ExerciseOutcome) -> str:
    """How an exercise ended, in the run's words (a timeout also explains failed checks)."""
    where = f"steps[{index}] (exercise)"
    if outcome == "timed out":
        return (f"{where} timed out after {exercise.timeout_s:g}s: graded what was "
                f"captured until then")
    if outcome == "stand-in":
        return f"{where}: nobody attended the run, its stand-in steps ran"
    return f"{where}: done by hand"

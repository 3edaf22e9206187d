# Running a student's program where its role lives (POST /program on the control agents
# of the user agents and mallory): the program replaces the role for one scenario step.
#
# The program's folder is unpacked into a fresh temporary folder, its command run there
# by /bin/sh with no input, in a process group of its own, with a small environment: the
# lab's mail servers (labctl.model.program_targets; through the role's forwarders on the
# local backend, see program_forwarder.py), PATH, HOME (its folder), LANG and
# PYTHONUNBUFFERED. It is stopped at its timeout (SIGTERM, then SIGKILL to the whole
# group two seconds later) and the answer says so; its output (stdout and stderr as
# written) is kept up to MAX_OUTPUT_CHARS, losing its middle. One program runs at a time
# per role. The grade never comes from here: the captures and the stored mail say what
# the program did.
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
import time
from pathlib import Path

from fastapi import APIRouter, HTTPException

from labctl.model import Addressing
from labctl.model.program_targets import program_targets
from labctl.program_bundle import BundleError, unpack_bundle
from labctl.program_contract import (
    MAX_OUTPUT_CHARS,
    PROGRAM_PATH,
    ProgramRequest,
    ProgramResult,
)
from roles.program_forwarder import forwarded

KILL_GRACE_SECONDS = 2.0
OUTPUT_AFTER_EXIT_SECONDS = 2.0  # a child left holding the output pipe is not waited for


def program_router(plan: Addressing, role: str) -> APIRouter:
    """POST /program for `role`'s agent (mount it behind the agent's guard)."""
    router = APIRouter()
    one_at_a_time = asyncio.Lock()

    @router.post(PROGRAM_PATH)
    async def run_program(request: ProgramRequest) -> ProgramResult:
        async with one_at_a_time:
            with tempfile.TemporaryDirectory(prefix="maillab-program-",
                                             ignore_cleanup_errors=True) as folder:
                try:
                    await asyncio.to_thread(unpack_bundle, request.bundle, Path(folder))
                except BundleError as error:
                    raise HTTPException(422, f"bundle: {error}") from None
                async with forwarded(plan, role, program_targets(plan, role)) as targets:
                    lab = {name: f"{host}:{port}" for name, (host, port) in targets.items()}
                    return await run_command(request.command, Path(folder), lab,
                                             request.timeout_s)

    return router


def _environment(folder: Path, lab: dict[str, str]) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": str(folder), "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1", **lab}


async def run_command(command: str, folder: Path, lab: dict[str, str],
                      timeout_s: float) -> ProgramResult:
    """Run `command` in `folder` with the lab variables `lab`, for at most `timeout_s`."""
    started = time.monotonic()
    try:
        process = await asyncio.create_subprocess_exec(
            "/bin/sh", "-c", command, cwd=folder, env=_environment(folder, lab),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    except OSError as error:
        return ProgramResult(exit_status=None, timed_out=False, duration_s=0.0,
                             output=f"maillab: the command could not be started: {error}",
                             environment=lab)
    assert process.stdout is not None
    output = _Output()
    reading = asyncio.create_task(output.read_all(process.stdout))
    timed_out = False
    try:
        async with asyncio.timeout(timeout_s):
            await process.wait()
    except TimeoutError:
        timed_out = True
        await _stop(process)
    finally:
        if process.returncode is None:  # cancelled: never leave the program running
            await _stop(process)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # what it left running in the background
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(OUTPUT_AFTER_EXIT_SECONDS):
            await asyncio.shield(reading)
    reading.cancel()
    if timed_out:
        output.note(f"maillab: stopped after {timeout_s:g}s (the scenario's timeout)")
    return ProgramResult(exit_status=None if timed_out else process.returncode,
                         timed_out=timed_out, duration_s=round(time.monotonic() - started, 3),
                         output=output.text(), environment=lab)


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM to the program's process group, SIGKILL after a grace period."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(KILL_GRACE_SECONDS):
                await process.wait()
                return


class _Output:
    """A program's output: its start and its end kept when it is too long."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0
        self.notes: list[str] = []

    async def read_all(self, stream: asyncio.StreamReader) -> None:
        half = MAX_OUTPUT_CHARS // 2
        while chunk := await stream.read(65536):
            room = half - len(self.head)
            self.head += chunk[:max(room, 0)]
            self.tail += chunk[max(room, 0):]
            if len(self.tail) > half:
                self.dropped += len(self.tail) - half
                del self.tail[:len(self.tail) - half]

    def note(self, line: str) -> None:
        self.notes.append(line)

    def text(self) -> str:
        middle = f"\n[maillab: {self.dropped} bytes of output left out]\n" if self.dropped else ""
        body = (self.head.decode("utf-8", "replace") + middle
                + self.tail.decode("utf-8", "replace"))
        return "\n".join([body.rstrip("\n"), *self.notes]).strip("\n")

# Whole local labs for the lab-level benchmarks (lab_benchmarks.py), and what they are
# compared with.
#
# A benchmark's lab is LocalBackend's own (`labctl up` on the local backend): every
# role and the controller as processes, for a lab instance that is never the default
# lab, with its state folder and its captures in the benchmark's scratch folder, and it
# is always taken down. The baselines are bare interpreters: `python3 -c` processes that
# each bind one loopback port, answer one TCP connect and then idle until told to end,
# so starting them costs what starting N Python interpreters costs. Memory is read from
# /proc: the resident set of every process in the given process groups (each lab
# process, and each interpreter, leads a session of its own, so its children count too).
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from labctl.backends.local import LocalBackend
from labctl.model import LAB, LabInstance

LAB_PROCESSES = len(LAB.roles) + 1  # every role and the controller
CAPTURES_ENV = "MAILLAB_CAPTURES_DIR"
# Binds a loopback port, says which, answers one connect, then idles until stdin closes.
ANSWERING_INTERPRETER = (
    "import socket, sys\n"
    "server = socket.socket()\n"
    "server.bind(('127.0.0.1', 0))\n"
    "server.listen(1)\n"
    "print(server.getsockname()[1], flush=True)\n"
    "connection, _ = server.accept()\n"
    "connection.sendall(b'ok')\n"
    "connection.close()\n"
    "sys.stdin.read()\n"
)


def quiet(_: str) -> None:
    """A progress callback that says nothing (the benchmark's table says it all)."""


def local_backend(work: Path, instance: LabInstance) -> LocalBackend:
    """The local backend of `instance`, its state under `work`."""
    return LocalBackend(home=work / "labs", instance=instance)


@contextlib.contextmanager
def captures_in(folder: Path) -> Iterator[None]:
    """Labs brought up meanwhile write their pcaps and runs into `folder`."""
    before = os.environ.get(CAPTURES_ENV)
    os.environ[CAPTURES_ENV] = str(folder)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(CAPTURES_ENV, None)
        else:
            os.environ[CAPTURES_ENV] = before


@contextlib.contextmanager
def running_lab(work: Path, instance: LabInstance) -> Iterator[LocalBackend]:
    """`instance`'s local lab, up (state and captures under `work`), down afterwards."""
    backend = local_backend(work, instance)
    with captures_in(work / "captures"):
        try:
            backend.up(quiet)
            yield backend
        finally:
            backend.down(quiet)


def lab_process_groups(backend: LocalBackend) -> set[int]:
    """The process groups of a running local lab (one per role and the controller)."""
    return set(backend._pids().values())


def resident_bytes(groups: set[int]) -> int:
    """The summed resident set (RSS) of every process whose process group is in `groups`."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            group = int(stat.rsplit(")", 1)[1].split()[2])  # after the command's name
            if group not in groups:
                continue
            status = Path(entry.path, "status").read_text()
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


class Interpreters:
    """`count` bare interpreters, started and each answered once (idle afterwards)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        """Start them all at once; return when each has answered a TCP connect."""
        for _ in range(self.count):
            self._processes.append(subprocess.Popen(
                [sys.executable, "-c", ANSWERING_INTERPRETER], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, start_new_session=True))
        for process in self._processes:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line.strip():
                raise RuntimeError(f"a bare interpreter exited at start ({process.wait(10)})")
            with socket.create_connection(("127.0.0.1", int(line)), timeout=30) as connection:
                if connection.recv(2) != b"ok":
                    raise RuntimeError("a bare interpreter did not answer its connect")

    @property
    def process_groups(self) -> set[int]:
        return {process.pid for process in self._processes}

    def stop(self) -> None:
        """End them (stdin closed; killed if one lingers)."""
        for process in self._processes:
            with contextlib.suppress(OSError):
                assert process.stdin is not None
                process.stdin.close()
        for process in self._processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
            if process.stdout is not None:
                process.stdout.close()
        self._processes.clear()


@contextlib.contextmanager
def running_interpreters(count: int) -> Iterator[Interpreters]:
    """`count` bare interpreters, started and answered, ended afterwards."""
    interpreters = Interpreters(count)
    try:
        interpreters.start()
        yield interpreters
    finally:
        interpreters.stop()


def interpreters_start_ms(count: int) -> float:
    """ms from starting `count` bare interpreters at once until each has answered."""
    start = time.perf_counter()
    with running_interpreters(count):
        elapsed = time.perf_counter() - start
    return elapsed * 1000

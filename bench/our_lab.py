# maillab's own programs for the benchmarks: the lab's name server and mail servers as
# the local runtime runs them (one process each, `python -m roles.dns` and
# `python -m roles.mailserver`, INFO logging), in a lab instance of the benchmark's
# own (registry.Context.instance) so their addresses and ports are never those of the
# default lab or of the tests.
# Each run gets fresh data folders; the Maildirs are counted from here.
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from labctl.model import INTERNET, Addressing
from labctl.model.instance import INSTANCE_ENV
from roles.mailserver.maildir_layout import mailbox_root

ALICE_LAN = "alice-lan"  # the submission hop's network
PROJECT = Path(__file__).resolve().parent.parent
START_SECONDS = 60.0


class OurLab:
    """The dns role and the mail servers of an instance, as processes."""

    def __init__(self, work: Path, plan: Addressing, roles: tuple[str, ...]) -> None:
        self.work, self.plan, self.roles = work, plan, roles
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    def data(self, role: str) -> Path:
        return self.work / role

    def maildir_new(self, role: str, address: str) -> Path:
        """new/ of `address`'s INBOX on mail server `role`."""
        return mailbox_root(self.data(role) / "mailboxes", address) / "new"

    def pids(self, *roles: str) -> list[int]:
        """The process ids of running `roles`."""
        return [self._processes[role].pid for role in roles]

    def smtp_address(self, role: str, service: str = "smtp",
                     network: str = INTERNET) -> tuple[str, int]:
        """(address, port) of a mail server's service on one of its networks."""
        return self.plan.address(role, network), self.plan.port(role, service)

    def start(self) -> None:
        """Start the name server and the mail servers; return when each answers /health."""
        env = {**os.environ, INSTANCE_ENV: self.plan.instance.name, "PYTHONUNBUFFERED": "1"}
        (self.work / "logs").mkdir(parents=True, exist_ok=True)
        for role in ("dns", *self.roles):
            if role == "dns":
                command = ["-m", "roles.dns", "--role", "dns", "--runtime", "local"]
            else:
                command = ["-m", "roles.mailserver", "--role", role, "--runtime", "local",
                           "--data", str(self.data(role))]
            with (self.work / "logs" / f"{role}.log").open("ab") as log:
                self._processes[role] = subprocess.Popen(
                    [sys.executable, *command], cwd=PROJECT, env=env, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True)
        for role in self._processes:
            self._wait_healthy(role)

    def _wait_healthy(self, role: str) -> None:
        deadline = time.monotonic() + START_SECONDS
        url = self.plan.control_url(role) + "/health"
        while time.monotonic() < deadline:
            process = self._processes[role]
            if process.poll() is not None:
                raise RuntimeError(f"{role} exited at start: {self.log_tail(role)}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{role} did not answer within {START_SECONDS:.0f}s: "
                           f"{self.log_tail(role)}")

    def log_tail(self, role: str, lines: int = 5) -> str:
        """The last lines of a role's log."""
        path = self.work / "logs" / f"{role}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return " / ".join(text.strip().splitlines()[-lines:]) or "no output"

    def stop(self) -> None:
        """SIGTERM every process (SIGKILL after 10 s)."""
        for process in self._processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self._processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        self._processes.clear()


@contextlib.contextmanager
def our_lab(work: Path, plan: Addressing, *roles: str) -> Iterator[OurLab]:
    """The instance's name server and mail servers `roles`, running, on fresh data."""
    lab = OurLab(work, plan, roles)
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()



def count_files(folder: Path) -> int:
    """How many files `folder` holds (0 while it does not exist)."""
    try:
        return len(os.listdir(folder))
    except FileNotFoundError:
        return 0


def wait_for_files(folder: Path, count: int, timeout: float) -> float:
    """Wait until `folder` holds `count` files; the time.perf_counter() it was seen."""
    deadline = time.perf_counter() + timeout
    while count_files(folder) < count:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{folder} holds {count_files(folder)} of {count} files "
                               f"after {timeout:.0f}s")
        time.sleep(0.005)
    return time.perf_counter()

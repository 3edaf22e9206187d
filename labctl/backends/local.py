# The local runtime: the same role programs as processes on this machine, no root
# needed. Each role listens on its own 127.77.N.x address per network (see
# labctl.model.addressing), so a per-network loopback filter records one link.
# Each lab instance has its own addresses, controller port and state folder; `up`
# makes a fresh lab token there (the controller reads it, the roles get its digest)
# and the lab CA with the mail servers' certificates in its tls/ folder (STARTTLS).
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from labctl.agent_auth import (
    DIGEST_FILE_ENV,
    DIGEST_FILE_NAME,
    TOKEN_FILE_ENV,
    TOKEN_FILE_NAME,
    make_lab_secret,
)
from labctl.backends.base import LabBackend, LabError, Progress
from labctl.backends.project import captures_dir, state_dir
from labctl.backends.role_shell import ShellCommand, local_shell, startup_file
from labctl.capture.mode import resolve_capture_mode
from labctl.model import DEFAULT_INSTANCE, LAB, LabInstance, Runtime, addressing
from labctl.model.instance import INSTANCE_ENV
from labctl.tls_ca import CA_CERTIFICATE, lab_certificates

CAPTURE_METHODS = {
    "tcpdump": "tcpdump on loopback, one filter per network",
    "relay": "recording relays (this user may not capture packets)",
}


class LocalBackend(LabBackend):
    runtime = Runtime.LOCAL

    def __init__(
        self, home: Path | None = None, instance: LabInstance = DEFAULT_INSTANCE
    ) -> None:
        self.instance = instance
        self.home = (home or state_dir()) / instance.state_folder
        self.plan = addressing(Runtime.LOCAL, instance=instance)

    @property
    def _pid_file(self) -> Path:
        return self.home / "pids.json"

    @property
    def tls_dir(self) -> Path:
        """The lab CA (ca.pem, the file a TLS client trusts) and the servers' certificates."""
        return self.home / "tls"

    def _commands(self, capture_mode: str) -> dict[str, list[str]]:
        python = [sys.executable, "-m"]
        commands = {}
        for role in LAB.roles:
            command = [*python, f"roles.{role.program}", "--role", role.name, "--runtime", "local"]
            if role.program == "mailserver":
                command += ["--data", str(self.home / "data" / role.name),
                            "--tls-dir", str(self.tls_dir)]
                if capture_mode == "relay":
                    command.append("--behind-relay")
            commands[role.name] = command
        commands["controller"] = [*python, "labctl.controller"]
        return commands

    def _pids(self) -> dict[str, int]:
        try:
            pids: dict[str, int] = json.loads(self._pid_file.read_text())
            return pids
        except (OSError, ValueError):
            return {}

    def up(self, progress: Progress) -> None:
        self.ensure_slot_is_free()
        if self._pids():
            self.down(lambda _: None)
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        capture_mode = resolve_capture_mode(os.environ.get("MAILLAB_CAPTURE_MODE", "auto"))
        progress(f"local lab: each link recorded by {CAPTURE_METHODS[capture_mode]}")
        secret = self.home / "secret"
        for old in (secret / TOKEN_FILE_NAME, self.home / DIGEST_FILE_NAME):
            old.unlink(missing_ok=True)  # a fresh token for every lab brought up
        make_lab_secret(secret / TOKEN_FILE_NAME, self.home / DIGEST_FILE_NAME)
        secret.chmod(0o700)
        lab_certificates(self.plan, self.tls_dir)
        progress(f"STARTTLS offered with the lab CA {self.tls_dir / CA_CERTIFICATE}")
        env = {
            **os.environ,
            "MAILLAB_RUNTIME": "local",
            INSTANCE_ENV: self.instance.name,
            "MAILLAB_CAPTURE_MODE": capture_mode,
            "MAILLAB_CAPTURES_DIR": str(captures_dir()),
            "PYTHONUNBUFFERED": "1",
        }
        for variable in (TOKEN_FILE_ENV, DIGEST_FILE_ENV, "MAILLAB_PORT"):
            env.pop(variable, None)
        role_env = {**env, DIGEST_FILE_ENV: str(self.home / DIGEST_FILE_NAME)}
        controller_env = {**env, TOKEN_FILE_ENV: str(secret / TOKEN_FILE_NAME)}
        pids = {}
        for name, command in self._commands(capture_mode).items():
            log = (self.home / "logs" / f"{name}.log").open("ab")
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env=controller_env if name == "controller" else role_env,
            )
            pids[name] = process.pid
        self._pid_file.write_text(json.dumps(pids))
        progress("started the lab's processes; waiting until every role answers")
        self._wait_healthy(timeout=60)

    def _health_urls(self) -> dict[str, str]:
        urls = {role.name: self.plan.control_url(role.name) for role in LAB.roles}
        urls["controller"] = self.plan.controller_url()
        return urls

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        waiting = dict(self._health_urls())
        while waiting and time.monotonic() < deadline:
            for name, url in list(waiting.items()):
                try:
                    if httpx.get(url + "/health", timeout=1).status_code == 200:
                        del waiting[name]
                except httpx.HTTPError:
                    pass
            if waiting:
                self._check_alive(waiting)
                time.sleep(0.2)
        if waiting:
            raise LabError(f"not ready after {timeout:.0f}s: {self._describe(waiting)}")
        # an answer may come from a foreign process holding a role's address: every
        # process started here must still run
        self._check_alive(self._health_urls())

    def _check_alive(self, waiting: dict[str, str]) -> None:
        for name in waiting:
            pid = self._pids().get(name)
            if pid is not None and not _alive(pid):
                raise LabError(f"{name} exited at start: {self._describe({name: ''})}")

    def _describe(self, names: dict[str, str]) -> str:
        parts = []
        for name in names:
            log = self.home / "logs" / f"{name}.log"
            tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
            parts.append(f"{name} ({' / '.join(tail) or 'no output'})")
        return "; ".join(parts)

    def down(self, progress: Progress) -> None:
        pids = self._pids()
        for pid in pids.values():
            _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in pids.values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in pids.values():
            _signal_group(pid, signal.SIGKILL)
        self._pid_file.unlink(missing_ok=True)
        if pids:
            progress(f"stopped {len(pids)} local processes")

    def shell(self, role: str, interactive: bool) -> ShellCommand:
        lab_role = LAB.role(role)
        startup = self.home / "shell" / f"{role}.bashrc"
        startup.parent.mkdir(parents=True, exist_ok=True)
        startup.write_text(startup_file(self.plan, lab_role))
        return local_shell(self.plan, lab_role, startup, interactive)

    def status(self) -> dict[str, str]:
        pids = self._pids()
        return {
            name: ("running" if pid is not None and _alive(pid) else "stopped")
            for name in self._health_urls() for pid in [pids.get(name)]
        }


def _alive(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)

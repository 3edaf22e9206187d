# A real Postfix instance in a temporary folder, on one loopback address and port: the
# baseline of the benchmarks and a peer of the interop tests. It either receives mail
# for a domain into Maildirs, or relays everything to a fixed next hop. Its
# configuration, queue and mail live under the folder; the machine's own mail setup is
# never touched (Postfix is started with `-c FOLDER/etc`).
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from labctl.model import LAB

DEFAULT_MASTER_CF = Path("/etc/postfix/master.cf")


class PostfixUnavailable(RuntimeError):
    """Postfix cannot run here; the message says why and what to install."""


def postfix_problem() -> str | None:
    """Why a private Postfix cannot be started here (None when it can)."""
    if shutil.which("postfix") is None or not DEFAULT_MASTER_CF.exists():
        return "Postfix is not installed (Debian package postfix)"
    if os.geteuid() != 0:
        return "Postfix's master process must be started as root"
    return None


@dataclass
class PostfixInstance:
    """One Postfix: `domain` is delivered locally, or everything is relayed to `relay_to`."""

    root: Path
    hostname: str
    listen: tuple[str, int]
    domain: str | None = None  # receive mail for this domain into root/mail/<local part>/
    relay_to: tuple[str, int] | None = None  # else: relay every message there
    bind_address: str | None = None  # the source address of relayed connections

    @property
    def config(self) -> Path:
        return self.root / "etc"

    def maildir(self, local_part: str) -> Path:
        """The Maildir that mail for local_part@domain lands in."""
        return self.root / "mail" / local_part

    def delivered(self, local_part: str) -> list[bytes]:
        """The messages in a local user's Maildir (new and cur)."""
        folders = [self.maildir(local_part) / sub for sub in ("new", "cur")]
        return [p.read_bytes() for f in folders if f.is_dir() for p in sorted(f.iterdir())]

    def master_pid(self) -> int:
        """The process id of this Postfix's master (its services are its children)."""
        return int((self.root / "spool" / "pid" / "master.pid").read_text().split()[0])

    def log(self) -> str:
        path = self.root / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def _main_cf(self) -> str:
        owner = pwd.getpwnam("postfix")
        lines = [
            "compatibility_level = 3.6",
            f"queue_directory = {self.root / 'spool'}",
            f"data_directory = {self.root / 'data'}",
            "mail_owner = postfix",
            "inet_interfaces = all",
            "inet_protocols = ipv4",
            f"myhostname = {self.hostname}",
            "mydestination =",
            "mynetworks = 127.0.0.0/8",
            "alias_maps =",
            "alias_database =",
            f"maillog_file = {self.root / 'maillog'}",
            f"maillog_file_prefixes = {self.root}",
            "smtp_dns_support_level = disabled",
            "disable_dns_lookups = yes",
            "smtpd_banner = $myhostname ESMTP Postfix",
            "queue_run_delay = 1s",
            "minimal_backoff_time = 1s",
            "maximal_backoff_time = 2s",
        ]
        if self.domain is not None:
            lines += [
                f"virtual_mailbox_domains = {self.domain}",
                f"virtual_mailbox_base = {self.root / 'mail'}",
                f"virtual_mailbox_maps = {self._mailbox_map()}",
                f"virtual_uid_maps = static:{owner.pw_uid}",
                f"virtual_gid_maps = static:{owner.pw_gid}",
            ]
        if self.relay_to is not None:
            host, port = self.relay_to
            lines += [f"relayhost = [{host}]:{port}", "smtp_tls_security_level = none"]
        else:  # never look up or connect to anything outside the test (bounces included)
            lines.append("default_transport = error:this Postfix delivers only locally")
        if self.bind_address is not None:
            lines.append(f"smtp_bind_address = {self.bind_address}")
        return "\n".join(lines) + "\n"

    def _mailbox_map(self) -> str:
        """inline:{user@domain=user/, ...} for the lab's users of `domain`."""
        users = [u for u in LAB.users if u.domain == self.domain]
        return "inline:{" + ", ".join(f"{u.address}={u.local_part}/" for u in users) + "}"

    def _master_cf(self) -> str:
        host, port = self.listen
        out = []
        for line in DEFAULT_MASTER_CF.read_text().splitlines():
            if line.split()[:2] == ["smtp", "inet"]:
                line = f"{host}:{port} inet n - n - - smtpd"
            out.append(line)
        return "\n".join(out) + "\n"

    def start(self) -> None:
        """Write the configuration and start Postfix; returns once it accepts connections."""
        for sub in ("etc", "spool", "data", "mail"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        owner = pwd.getpwnam("postfix")
        os.chown(self.root / "data", owner.pw_uid, owner.pw_gid)
        os.chown(self.root / "mail", owner.pw_uid, owner.pw_gid)
        (self.config / "main.cf").write_text(self._main_cf())
        (self.config / "master.cf").write_text(self._master_cf())
        self._postfix("start")

    def stop(self) -> None:
        """Stop Postfix (no error when it is not running)."""
        subprocess.run(["postfix", "-c", str(self.config), "stop"], capture_output=True,
                       timeout=30, check=False)

    def _postfix(self, action: str) -> None:
        result = subprocess.run(["postfix", "-c", str(self.config), action],
                                capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"postfix {action} failed: {result.stderr.strip()}\n{self.log()}")


@contextmanager
def running_postfix(hostname: str, listen: tuple[str, int], domain: str | None = None,
                    relay_to: tuple[str, int] | None = None,
                    bind_address: str | None = None) -> Iterator[PostfixInstance]:
    """A started Postfix in a fresh folder the postfix user can traverse; removed after.

    PostfixUnavailable when Postfix is missing or this user cannot start it."""
    problem = postfix_problem()
    if problem is not None:
        raise PostfixUnavailable(problem)
    root = Path(tempfile.mkdtemp(prefix="maillab-postfix-"))
    root.chmod(0o755)
    instance = PostfixInstance(root, hostname, listen, domain, relay_to, bind_address)
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()
        shutil.rmtree(root, ignore_errors=True)

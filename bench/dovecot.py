# A real Dovecot (IMAP and POP3) in a temporary folder, on a loopback address of a lab
# instance, serving Maildirs our mailbox store made: the baseline of the fetch
# benchmarks, and for the tests (tests/peers/dovecot.py) proof that other software reads
# our Maildir++ layout and the reference side of the differential tests.
#
# Its own configuration file (`dovecot -c`), run in the foreground (-F) as a child
# process, plain text only (ssl = no), users from a passwd-file with clear-text
# passwords; a login `bob` is `bob@hamburger.edu` (auth_default_realm), whose mail is
# `maildir:<root>/mail/bob@hamburger.edu`, the folder MaildirMailboxes(<mail>) writes.
# Dovecot keeps its own UIDs (dovecot-uidlist) and ignores our `maillab-uidlist`.
# Dovecot refuses to access mail as root, so it runs its sessions as `nobody` in group
# root (mail_gid), which reads the files the tests' store (as root) writes with mode
# 0640; while it runs the umask is 002, so the folders the store makes are writable
# by the group, for Dovecot's renames and its own files. verbose_proctitle shows each
# session's current command, which lets a test wait until a session is in IDLE.
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REALM = "hamburger.edu"


@dataclass(frozen=True)
class DovecotInstance:
    """A running Dovecot: where it listens and where its users' Maildirs are."""

    host: str
    imap_port: int
    pop3_port: int
    mail: Path  # MaildirMailboxes(mail) writes the same Maildirs Dovecot serves
    root: Path

    def log(self) -> str:
        """Dovecot's log so far."""
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def sessions_in(self, command: str) -> int:
        """How many of this Dovecot's IMAP sessions run `command` now (process titles)."""
        count = 0
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                title = cmdline.read_bytes().decode(errors="replace")
            except OSError:
                continue
            count += title.startswith(f"{self.name}/imap ") and title.rstrip("\0 ").endswith(
                f" {command}]")
        return count

    @property
    def name(self) -> str:
        """Its instance name, the prefix of its processes' titles."""
        return f"dovecot-{self.root.name}"


# What a Dovecot with IMAP and POP3 needs: command or program -> Debian package.
DOVECOT_PROGRAMS = {"dovecot": "dovecot-imapd", "/usr/lib/dovecot/imap": "dovecot-imapd",
                    "/usr/lib/dovecot/pop3": "dovecot-pop3d"}
START_SECONDS = 30.0


def dovecot_config(root: Path, host: str, imap_port: int, pop3_port: int) -> str:
    """The configuration of a Dovecot living under `root`."""
    return f"""\
base_dir = {root}/run
state_dir = {root}/state
instance_name = {root.name}
listen = {host}
protocols = imap pop3
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_default_realm = {REALM}
log_path = {root}/dovecot.log
first_valid_uid = 0
first_valid_gid = 0
mail_uid = nobody
mail_gid = root
verbose_proctitle = yes
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/users
}}
userdb {{
  driver = passwd-file
  args = {root}/users
}}
service imap-login {{
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
"""


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _wait_listening(process: subprocess.Popen[bytes], instance: DovecotInstance) -> None:
    deadline = time.monotonic() + START_SECONDS
    while process.poll() is None:
        if _accepts(instance.host, instance.imap_port) and \
                _accepts(instance.host, instance.pop3_port):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"Dovecot not listening on {instance.host}:{instance.imap_port} "
                               f"after {START_SECONDS:.0f}s: {instance.log()}")
        time.sleep(0.05)


@contextmanager
def running_dovecot(users: dict[str, str], host: str, imap_port: int,
                    pop3_port: int) -> Iterator[DovecotInstance]:
    """Dovecot serving `users` (address -> password) on `host`'s `imap_port` and
    `pop3_port`, in a fresh folder its unprivileged processes can traverse; stopped and
    removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="maillab-dovecot-"))
    root.chmod(0o755)
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir()
        (root / sub).chmod(0o775)
    (root / "users").write_text("".join(
        f"{address}:{{PLAIN}}{password}::::{root / 'mail' / address}::\n"
        for address, password in users.items()))
    instance = DovecotInstance(host, imap_port, pop3_port, root / "mail", root)
    config = root / "dovecot.conf"
    config.write_text(dovecot_config(root, host, instance.imap_port, instance.pop3_port))
    umask = os.umask(0o002)  # folders our store makes are writable by the root group
    process = subprocess.Popen(["dovecot", "-F", "-c", str(config)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    try:
        _wait_listening(process, instance)
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise RuntimeError(f"dovecot did not start: {output}\n{instance.log()}")
        yield instance
    finally:
        os.umask(umask)
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)

# fetchmail as a test peer: one run polling one mail server for one user, each message
# handed to an mda that writes it to its own file, so a test sees what was downloaded.
from __future__ import annotations

from pathlib import Path

from tests.peers.tools import require_tool, run


def fetchmail(home: Path, address: tuple[str, int], user: str, password: str, keep: bool,
              protocol: str = "POP3") -> list[bytes]:
    """Run fetchmail once (POP3 with UIDL, or IMAP) from `home`; the messages it delivered
    this time (files new in home/out)."""
    out = home / "out"
    out.mkdir(parents=True, exist_ok=True)
    before = set(out.iterdir())
    rcfile = home / "fetchmailrc"
    rcfile.write_text(
        "set no bouncemail\nset no syslog\n"
        f"poll {address[0]} service {address[1]} protocol {protocol}"
        f"{' uidl' if protocol == 'POP3' else ''} auth password\n"
        f'  user "{user}" there with password "{password}" is "{user}" here\n'
        f"  {'keep' if keep else 'no keep'}\n"
        f"  mda \"/bin/sh -c 'cat > {out}/message.$$'\"\n")
    rcfile.chmod(0o600)
    require_tool("fetchmail")
    result = run(["env", f"HOME={home}", "fetchmail", "-f", str(rcfile), "--nodetach",
                  "--sslproto", "", "--pidfile", str(home / "fetchmail.pid")])
    assert result.returncode in (0, 1), result.stdout + result.stderr  # 1: no new mail
    return sorted(path.read_bytes() for path in set(out.iterdir()) - before)

# The lecture's telnet session, scripted through mallory's local shell (`labctl shell
# mallory` without a terminal runs stdin): real telnet, from mallory's address, to a
# receiver in-process; the message lands in Bob's mailbox.
from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

from labctl.backends.local import LocalBackend
from tests.conftest import DATA, TEST_INSTANCE
from tests.peers.tools import require_tool
from tests.roles.conftest import MALLORY, StartServer

BOB = "bob@hamburger.edu"


async def test_scripted_telnet_demo_delivers_to_bob(start_server: StartServer,
                                                    tmp_path: Path) -> None:
    require_tool("telnet", "bash")
    receiver = await start_server("receiver-mta")
    host, port = receiver.address("smtp")
    shell = LocalBackend(home=tmp_path, instance=TEST_INSTANCE).shell("mallory", interactive=False)
    script = f"SMTP_HOST={host} SMTP_PORT={port}\n" + (DATA / "telnet-demo.sh").read_text()
    result = await asyncio.to_thread(
        subprocess.run, shell.argv, input=script, env={**os.environ, **shell.env},
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "C: MAIL FROM:<alice@crepes.fr>" in lines and "S: 354 End data with <CR><LF>.<CR><LF>" \
        in lines
    assert lines[-1] == "S: 221 2.0.0 Bye"
    (stored,) = receiver.mailboxes.list(BOB)
    data = receiver.mailboxes.read(BOB, stored.id)
    assert f"[{MALLORY}])".encode() in data, "the server saw mallory's address as the client"
    assert b"Subject: telnet demo" in data and b"How about pickles?" in data

# Runs the real mail-server program (roles.mailserver.__main__.run) in its own process on
# ports the test chose, so a crash test can SIGKILL it without touching a running lab:
#     python -m tests.roles.mailserver.server_process ROLE DATA_DIR '{"smtp": 40025, ...}'
# The JSON gives a port per service ("smtp", "submission", "pop3", "control") and may
# give "peers": {role: smtp port}.
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sys
from pathlib import Path

from roles.mailserver.__main__ import run
from roles.mailserver.settings import Listener, MailServerSettings


def main() -> None:
    """Start the server for argv's role, data folder and ports; serve until killed."""
    role, data, ports = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
    base = MailServerSettings.for_role(role, "local", data)
    listeners = tuple(Listener(item.service, item.host, int(ports[item.service]))
                      for item in base.listeners if item.service in ports)
    settings = dataclasses.replace(
        base, listeners=listeners, control_port=int(ports["control"]),
        peer_smtp_ports=ports.get("peers", {}), retry_base_seconds=0.2, retry_max_seconds=1.0)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()

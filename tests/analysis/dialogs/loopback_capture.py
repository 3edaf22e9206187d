# Capturing real traffic for the oracle tests: tcpdump on the loopback interface,
# filtered to one test address and port, and tshark's reading of the capture.
from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from tests.peers.tools import require_tool

WAIT_SECONDS = 20.0
CLOSES = "tcp.flags.fin == 1 || tcp.flags.reset == 1"


T = TypeVar("T")


def wait_for(condition: Callable[[], T], what: str) -> T:
    """Poll `condition` until it returns something true (at most WAIT_SECONDS); return it."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not (result := condition()):
        assert time.monotonic() < deadline, f"no {what} within {WAIT_SECONDS:.0f}s"
        time.sleep(0.05)
    return result


def _closes(pcap: Path) -> int:
    """FIN packets in the capture, a RST counting for two (it ends both directions)."""
    output = subprocess.run(["tshark", "-r", str(pcap), "-Y", CLOSES, "-T", "fields",
                             "-e", "tcp.flags.reset"], capture_output=True, text=True,
                            check=False).stdout
    return sum(2 if flag in ("1", "True") else 1 for flag in output.split())


@contextmanager
def loopback_capture(pcap: Path, host: str, port: int, connections: int = 1) -> Iterator[Path]:
    """tcpdump writing `pcap` while the block runs; on leaving, waits until the capture
    holds two FINs (or a RST) per connection, then stops tcpdump."""
    require_tool("tcpdump", "tshark")
    dump = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "-U", "-w", str(pcap),
                             "host", host, "and", "port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert dump.stderr is not None
        started = dump.stderr.readline().decode()
        assert "listening on lo" in started, started
        yield pcap
        wait_for(lambda: _closes(pcap) >= 2 * connections, f"close of {connections} connections")
    finally:
        dump.terminate()
        _, errors = dump.communicate(timeout=WAIT_SECONDS)
    assert b"\n0 packets dropped by kernel" in b"\n" + errors, errors


def tshark_fields(pcap: Path, decode_as: str, fields: list[str]) -> list[list[list[str]]]:
    """Per packet with any of `fields`: each field's values (tshark told the protocol)."""
    command = ["tshark", "-r", str(pcap), "-d", decode_as, "-T", "fields",
               "-E", "occurrence=a", "-E", "aggregator=\x1f", "-E", "separator=\x1e"]
    for field in fields:
        command += ["-e", field]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rows = []
    for line in output.split("\n"):
        values = [value.split("\x1f") if value else [] for value in line.split("\x1e")]
        if any(values):
            rows.append(values)
    return rows

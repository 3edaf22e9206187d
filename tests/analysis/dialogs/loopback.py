# Real traffic for the observers' tests: tcpdump on the loopback interface around a
# client talking to a server, the capture read back with maillab's own reader, and
# tshark told the protocol as the independent oracle.
#
# capturing() starts tcpdump on `lo` for one server address and port, and returns only
# once a probe datagram (to the discard port of the same address) shows in the pcap, so
# the filter is attached; on leaving, a second probe that shows proves every earlier
# packet was written, and tcpdump must say the kernel dropped none. TCP conversations
# and DNS datagrams come from the analyzer's own reader (pipeline.CaptureStreams).
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from labctl.analysis.pipeline import CaptureStreams
from labctl.analysis.results import Segment
from tests.conftest import wait_for
from tests.peers.tools import require_packet_capture, require_tool

PROBE_PORT = 9  # discard: nothing answers, the datagram only marks the capture


class Probe:
    """Marks a capture with datagrams and waits until each is in the file."""

    def __init__(self, path: Path, host: str) -> None:
        self.path, self.host = path, host

    def __call__(self) -> None:
        size = self.path.stat().st_size if self.path.exists() else 0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            def arrived() -> bool:
                sock.sendto(b"probe", (self.host, PROBE_PORT))
                return self.path.exists() and self.path.stat().st_size > size
            wait_for(arrived, f"tcpdump never wrote a probe to {self.path}")


@contextmanager
def capturing(path: Path, host: str, port: int) -> Iterator[None]:
    """tcpdump on `lo` recording `host` port `port` (TCP and UDP) into `path`."""
    require_packet_capture()
    command = ["tcpdump", "-i", "lo", "-n", "-s", "0", "-U", "--immediate-mode"]
    command += ["-Z", "root"] if os.geteuid() == 0 else []
    command += ["-w", str(path), "host", host, "and", "(", "port", str(port), "or", "udp",
                "port", str(PROBE_PORT), ")"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    try:
        while b"listening on" not in (line := process.stderr.readline()):
            assert line, "tcpdump exited before listening"
        probe = Probe(path, host)
        probe()
        yield
        probe()
    finally:
        process.send_signal(signal.SIGINT)
        _, said = process.communicate(timeout=30)
    dropped = re.search(rb"([0-9]+) packets? dropped by kernel", said)
    assert dropped is None or dropped.group(1) == b"0", f"tcpdump lost packets: {said!r}"


def tcp_conversations(path: Path, port: int) -> list[list[Segment]]:
    """The segments of each TCP connection to `port` opened inside the capture (not a
    server's readiness probe seen closing), read by maillab's analyzer."""
    return [stream.segments for stream in CaptureStreams(path)
            if stream.transport == "tcp" and stream.server.port == port
            and stream.phases.seen_from_start]


def udp_datagrams(path: Path, port: int) -> list[Segment]:
    """The DNS datagrams to and from `port`, of every client port, in capture order."""
    flows = [stream.segments for stream in CaptureStreams(path)
             if stream.transport == "udp" and stream.server.port == port]
    return sorted((segment for flow in flows for segment in flow),
                  key=lambda segment: segment.timestamp)


def tshark_fields(path: Path, decode_as: str, *fields: str, where: str = "") -> list[list[str]]:
    """tshark's values of `fields` (several in one packet joined by \\x1f), one row per
    packet that has the first one (and matches the display filter `where`)."""
    require_tool("tshark")
    shown = f"({where}) && {fields[0]}" if where else fields[0]
    command = ["tshark", "-r", str(path), "-d", decode_as, "-T", "fields", "-E", "occurrence=a",
               "-E", "aggregator=\x1f", "-Y", shown]
    for field in fields:
        command += ["-e", field]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in output.splitlines()]


CLOSES = "tcp.flags.fin == 1 || tcp.flags.reset == 1"


def _closes(pcap: Path) -> int:
    """FIN packets in the capture, a RST counting for two (it ends both directions)."""
    output = subprocess.run(["tshark", "-r", str(pcap), "-Y", CLOSES, "-T", "fields",
                             "-e", "tcp.flags.reset"], capture_output=True, text=True,
                            check=False).stdout
    return sum(2 if flag in ("1", "True") else 1 for flag in output.split())


@contextmanager
def loopback_capture(pcap: Path, host: str, port: int, connections: int = 1) -> Iterator[Path]:
    """capturing() that, on leaving, first waits until the capture holds two FINs (or a
    RST) per connection: the servers may close after the client has returned."""
    require_tool("tshark")
    with capturing(pcap, host, port):
        yield pcap
        wait_for(lambda: _closes(pcap) >= 2 * connections, f"close of {connections} connections")


def tshark_packets(pcap: Path, decode_as: str, fields: list[str]) -> list[list[list[str]]]:
    """Per packet with any of `fields`: each field's values (tshark told the protocol)."""
    require_tool("tshark")
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

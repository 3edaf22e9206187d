# Packet capture with tcpdump: one process per capture target, each recording one
# network. start() returns only once every tcpdump is listening, so the first packets
# of a scenario are never missed; stop() lets each flush and exit. Each tcpdump writes
# its pcap into a pipe read by a copier process (size_limit.py) that writes the file
# under the size limit; on exit tcpdump says how many packets the kernel dropped and the
# copier how many passed the limit: both become the network's notes. Before stopping,
# a marker datagram is sent across each network and stop waits until the copier has
# seen it, so no packet is still unread in the kernel when tcpdump stops.
from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from labctl.capture.plan import CaptureTarget
from labctl.capture.recorder import (
    DEFAULT_LIMIT_BYTES,
    CaptureError,
    NetworkRecording,
    dropped_note,
    limit_note,
)
from labctl.capture.size_limit import MARKER_SEEN, READY

log = logging.getLogger(__name__)

KERNEL_BUFFER_KIB = 32768  # tcpdump -B: a burst while tcpdump waits for a CPU (see README)
PIPE_BYTES = 1 << 20  # between tcpdump and its copier (Linux caps it at pipe-max-size)
STOP_TIMEOUT_S = 10.0
MARKER_TIMEOUT_S = 2.0  # a marker not seen by then: stop anyway (and log it)
DISCARD_PORT = 9  # the marker's destination port (nothing answers but an ICMP error)
MARKER_DESTINATION = bytes.fromhex("020000000000")  # locally administered, nobody's
MARKER_SOURCE = bytes.fromhex("020000000001")
MARKER_ETHERTYPE = bytes.fromhex("88b5")  # IEEE 802 local experimental EtherType 1
DROPPED = re.compile(rb"^(\d+) packets? dropped (by kernel|by interface)", re.MULTILINE)


def tcpdump_command(target: CaptureTarget, as_root: bool) -> list[str]:
    """The tcpdump command line recording `target` as a pcap on standard output."""
    # --immediate-mode: hand each packet over at once, so none is still in the kernel
    # ring (and lost) when the capture is stopped right after the traffic; -U: each
    # packet is written to the pipe as soon as it is captured.
    command = ["tcpdump", "-i", target.interface, "-n", "-s", "0", "-U", "--immediate-mode",
               "-B", str(KERNEL_BUFFER_KIB)]
    if as_root:
        command += ["-Z", "root"]
    return [*command, "-w", "-", *target.bpf_filter.split()]


def dropped_packets(said: bytes) -> list[tuple[int, str]]:
    """The non-zero 'N packets dropped by kernel/interface' counts of tcpdump's exit."""
    counts = [(int(count), where.decode()) for count, where in DROPPED.findall(said)]
    return [(count, where) for count, where in counts if count]


@dataclass
class _Running:
    target: CaptureTarget
    pcap: Path
    tcpdump: asyncio.subprocess.Process
    copier: asyncio.subprocess.Process
    drained: bool = False  # the end marker came through: nothing was left unread


async def _start_pair(target: CaptureTarget, pcap: Path, limit: int, marker: str) -> _Running:
    read_end, write_end = os.pipe()
    with contextlib.suppress(OSError):  # a larger pipe absorbs a slow copier for longer
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    try:
        copier = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "labctl.capture.size_limit", str(pcap), str(limit), marker,
            stdin=read_end, stdout=asyncio.subprocess.PIPE)
        tcpdump = await asyncio.create_subprocess_exec(
            *tcpdump_command(target, os.geteuid() == 0),
            stdout=write_end, stderr=asyncio.subprocess.PIPE)
    finally:
        os.close(read_end)
        os.close(write_end)
    return _Running(target, pcap, tcpdump, copier)


def send_marker(target: CaptureTarget, marker: bytes) -> None:
    """Put one packet holding `marker` where `target`'s capture sees it."""
    if target.marker_address is not None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(marker, (target.marker_address, DISCARD_PORT))
        return
    # a frame for no station, of the local experimental EtherType: the bridge floods it
    # to its ports, every role drops it, and a bridge has no way out of the host
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sender:
        sender.bind((target.interface, 0))
        sender.send(MARKER_DESTINATION + MARKER_SOURCE + MARKER_ETHERTYPE + marker)


async def _marker_seen(running: _Running) -> None:
    assert running.copier.stdout is not None
    while line := await running.copier.stdout.readline():
        if line.strip() == MARKER_SEEN.encode():
            return
    raise TimeoutError  # the copier ended without it


class TcpdumpCapture:
    """A running set of tcpdump processes writing one pcap per target."""

    def __init__(self, targets: list[CaptureTarget], directory: Path,
                 limit: int = DEFAULT_LIMIT_BYTES) -> None:
        self.targets = targets
        self.directory = directory
        self.limit = limit
        self.marker = f"maillab end of capture {secrets.token_hex(8)}"
        self._running: dict[str, _Running] = {}

    def pcaps(self) -> dict[str, Path]:
        return {t.network: self.directory / t.pcap_name() for t in self.targets}

    async def start(self, ready_timeout: float = 10.0) -> None:
        """Start one tcpdump per target and wait until each is listening."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for target in self.targets:
            running = await _start_pair(target, self.directory / target.pcap_name(), self.limit,
                                        self.marker)
            self._running[target.network] = running
            try:
                await asyncio.wait_for(self._listening(running), ready_timeout)
            except (TimeoutError, CaptureError):
                await self.stop()
                raise

    @staticmethod
    async def _listening(running: _Running) -> None:
        assert running.tcpdump.stderr is not None and running.copier.stdout is not None
        if (await running.copier.stdout.readline()).strip() != READY.encode():
            raise CaptureError(f"the pcap copier for {running.target.network} did not start")
        said = b""
        while True:
            line = await running.tcpdump.stderr.readline()
            said += line
            if b"listening on" in line:
                return
            if not line:
                raise CaptureError(
                    f"tcpdump on {running.target.interface} ({running.target.network}) exited: "
                    f"{said.decode(errors='replace').strip()}"
                )

    async def _drain(self) -> None:
        """Send the marker across each network; wait until each copier has seen it."""
        for running in self._running.values():
            try:
                send_marker(running.target, self.marker.encode())
            except OSError as error:
                log.warning("capture of %s: end marker not sent: %s", running.target.network,
                            error)
        for network, running in self._running.items():
            if running.tcpdump.returncode is None:
                try:
                    await asyncio.wait_for(_marker_seen(running), MARKER_TIMEOUT_S)
                    running.drained = True
                except TimeoutError:
                    log.warning("capture of %s: end marker not seen; stopping anyway", network)

    async def stop(self) -> dict[str, NetworkRecording]:
        """Stop every tcpdump once it read everything; each pcap with its notes."""
        await self._drain()
        for running in self._running.values():
            if running.tcpdump.returncode is None:
                running.tcpdump.send_signal(signal.SIGINT)
        recordings: dict[str, NetworkRecording] = {}
        stuck: list[str] = []
        for network, running in self._running.items():
            try:
                recordings[network] = await asyncio.wait_for(
                    self._finish(running), STOP_TIMEOUT_S)
            except TimeoutError:
                for process in (running.tcpdump, running.copier):
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                    await process.wait()
                stuck.append(network)
        self._running.clear()
        if stuck:
            raise CaptureError(f"tcpdump for {', '.join(stuck)} did not stop; killed")
        return recordings

    async def _finish(self, running: _Running) -> NetworkRecording:
        assert running.tcpdump.stderr is not None
        said = await running.tcpdump.stderr.read()
        await running.tcpdump.wait()
        copied, _ = await running.copier.communicate()
        copied = copied.strip().splitlines()[-1] if copied.strip() else b""  # the last line
        network = running.target.network
        problems = [dropped_note(network, count, where) for count, where in dropped_packets(said)]
        if not running.drained:
            problems.append(f"capture of {network}: tcpdump stopped before it could be shown to "
                            f"have read every packet; the last ones may be missing")
        try:
            result = json.loads(copied)
        except ValueError:
            problems.append(f"capture of {network}: the pcap copier failed "
                            f"(exit status {running.copier.returncode})")
            return NetworkRecording(running.pcap, problems)
        if result["error"]:
            problems.append(f"capture of {network} could not be written: {result['error']}")
        if result["packets_over_limit"]:
            problems.append(limit_note(network, self.limit, result["packets_over_limit"]))
        if result["leftover"]:
            problems.append(f"capture of {network}: tcpdump's last packet was cut short "
                            f"({result['leftover']} bytes left out)")
        return NetworkRecording(running.pcap, problems)

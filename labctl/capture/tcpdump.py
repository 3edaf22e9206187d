# Packet capture with tcpdump: one process per capture target, each recording one
# network. start() returns only once every tcpdump is listening, so the first packets
# of a scenario are never missed; stop() lets each flush and exit. tcpdump writes its
# pcap to a pipe and we write the file through CappedPcapStream (the size limit); on
# exit tcpdump says how many packets the kernel dropped, which becomes a note.
from __future__ import annotations

import asyncio
import os
import re
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from labctl.capture.plan import CaptureTarget
from labctl.capture.recorder import (
    DEFAULT_LIMIT_BYTES,
    CaptureError,
    NetworkRecording,
    dropped_note,
    limit_note,
)
from labctl.capture.size_limit import CappedPcapStream

CHUNK = 65536
KERNEL_BUFFER_KIB = 4096  # room for bursts while the event loop is busy elsewhere
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
    process: asyncio.subprocess.Process
    stream: CappedPcapStream
    file: BinaryIO
    copier: asyncio.Task[None] | None = None
    error: str | None = None  # why the stream could not be written


class TcpdumpCapture:
    """A running set of tcpdump processes writing one pcap per target."""

    def __init__(self, targets: list[CaptureTarget], directory: Path,
                 limit: int = DEFAULT_LIMIT_BYTES) -> None:
        self.targets = targets
        self.directory = directory
        self.limit = limit
        self._running: dict[str, _Running] = {}

    def pcaps(self) -> dict[str, Path]:
        return {t.network: self.directory / t.pcap_name() for t in self.targets}

    async def start(self, ready_timeout: float = 10.0) -> None:
        """Start one tcpdump per target and wait until each is listening."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for target in self.targets:
            process = await asyncio.create_subprocess_exec(
                *tcpdump_command(target, os.geteuid() == 0),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )
            pcap = open(self.directory / target.pcap_name(), "wb")  # noqa: SIM115 - closed in stop()
            running = _Running(target, process, CappedPcapStream(self.limit), pcap)
            self._running[target.network] = running
            running.copier = asyncio.create_task(self._copy(running))
            try:
                await asyncio.wait_for(self._listening(target, process), ready_timeout)
            except (TimeoutError, CaptureError):
                await self.stop()
                raise

    @staticmethod
    async def _copy(running: _Running) -> None:
        assert running.process.stdout is not None
        while chunk := await running.process.stdout.read(CHUNK):
            if running.error is None:  # after an error, drain the pipe so tcpdump can exit
                try:
                    running.file.write(running.stream.feed(chunk))
                except (CaptureError, OSError) as error:
                    running.error = str(error)
        running.file.flush()

    async def _listening(self, target: CaptureTarget, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        said = b""
        while True:
            line = await process.stderr.readline()
            said += line
            if b"listening on" in line:
                return
            if not line:
                raise CaptureError(
                    f"tcpdump on {target.interface} ({target.network}) exited: "
                    f"{said.decode(errors='replace').strip()}"
                )

    async def stop(self) -> dict[str, NetworkRecording]:
        """Stop every tcpdump (they flush their pcap); each pcap with its notes."""
        for running in self._running.values():
            if running.process.returncode is None:
                running.process.send_signal(signal.SIGINT)
        recordings: dict[str, NetworkRecording] = {}
        stuck: list[str] = []
        for network, running in self._running.items():
            try:
                recordings[network] = await asyncio.wait_for(self._finish(running), 10)
            except TimeoutError:
                running.process.kill()
                await running.process.wait()
                stuck.append(network)
            finally:
                running.file.close()
        self._running.clear()
        if stuck:
            raise CaptureError(f"tcpdump for {', '.join(stuck)} did not stop; killed")
        return recordings

    async def _finish(self, running: _Running) -> NetworkRecording:
        assert running.process.stderr is not None and running.copier is not None
        said = await running.process.stderr.read()
        await running.copier
        await running.process.wait()
        network, stream = running.target.network, running.stream
        problems = [dropped_note(network, count, where) for count, where in dropped_packets(said)]
        if stream.full:
            problems.append(limit_note(network, self.limit, stream.packets_over_limit))
        if running.error is not None:
            problems.append(f"capture of {network} could not be written: {running.error}")
        if stream.leftover:
            problems.append(f"capture of {network}: tcpdump's last packet was cut short "
                            f"({stream.leftover} bytes left out)")
        return NetworkRecording(self.directory / running.target.pcap_name(), problems)

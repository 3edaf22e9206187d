# Packet capture with tcpdump: one process per capture target, each writing the
# pcap of one network. start() returns only once every tcpdump is listening, so the
# first packets of a scenario are never missed; stop() lets each flush and exit.
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
from pathlib import Path

from labctl.capture.plan import CaptureTarget


class CaptureError(RuntimeError):
    """A capture could not be started or did not end cleanly."""


def can_capture_packets() -> bool:
    """True when tcpdump is installed and this process may open raw packet sockets."""
    if shutil.which("tcpdump") is None:
        return False
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close()
    except (PermissionError, OSError, AttributeError):
        return False
    return True


class TcpdumpCapture:
    """A running set of tcpdump processes writing one pcap per target."""

    def __init__(self, targets: list[CaptureTarget], directory: Path) -> None:
        self.targets = targets
        self.directory = directory
        self._processes: dict[str, asyncio.subprocess.Process] = {}

    def pcaps(self) -> dict[str, Path]:
        return {t.network: self.directory / t.pcap_name() for t in self.targets}

    async def start(self, ready_timeout: float = 10.0) -> None:
        """Start one tcpdump per target and wait until each is listening."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for target in self.targets:
            # --immediate-mode: hand each packet over at once, so none is still in the
            # kernel ring (and lost) when the capture is stopped right after the traffic.
            command = ["tcpdump", "-i", target.interface, "-n", "-s", "0", "-U"]
            command.append("--immediate-mode")
            if os.geteuid() == 0:
                command += ["-Z", "root"]
            command += ["-w", str(self.directory / target.pcap_name())]
            command += target.bpf_filter.split()
            process = await asyncio.create_subprocess_exec(
                *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
            )
            self._processes[target.network] = process
            try:
                await asyncio.wait_for(self._listening(target, process), ready_timeout)
            except (TimeoutError, CaptureError):
                await self.stop()
                raise

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

    async def stop(self) -> dict[str, Path]:
        """Stop every tcpdump (they flush their pcap) and return the pcap paths."""
        for process in self._processes.values():
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
        for network, process in self._processes.items():
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
                raise CaptureError(f"tcpdump for {network} did not stop; killed") from None
        self._processes.clear()
        return self.pcaps()

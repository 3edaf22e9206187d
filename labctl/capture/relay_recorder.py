# Recording without packet capture (the local runtime when this user may not capture):
# a RecordingRelay sits at every mail-server port on every lab network, in front of the
# real service (which then listens on its hidden port), and records what it relays into
# the network's pcap. The pcapng says in its comment that it is synthesized. A relay
# loses no packet (it synthesizes them from the bytes it forwards); what it leaves out
# is what passes the size limit, counted by the pcap writer.
from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path

from labctl.capture.recorder import DEFAULT_LIMIT_BYTES, NetworkRecording, limit_note
from labctl.capture.relay import RecordingRelay, SharedRecording
from labctl.model import Addressing

IDLE_GRACE_S = 5.0


@dataclass(frozen=True)
class RelaySpec:
    network: str
    listen: tuple[str, int]
    target: tuple[str, int]


def relay_plan(plan: Addressing) -> list[RelaySpec]:
    """One relay per mail-server service per captured network the server is on."""
    specs = []
    captured = {n.name for n in plan.lab.captured_networks()}
    for server in plan.lab.mail_servers():
        for network in server.networks:
            if network not in captured:
                continue
            address = plan.address(server, network)
            for service in (s.name for s in server.lab_services()):
                specs.append(RelaySpec(
                    network,
                    (address, plan.port(server, service)),
                    (address, plan.hidden_port(server, service)),
                ))
    return specs


class RelayRecorders:
    """The running relays of a lab; each capture session records through them."""

    def __init__(self, plan: Addressing) -> None:
        self.relays = [(s.network, RecordingRelay(s.listen, s.target)) for s in relay_plan(plan)]
        relayed = {network for network, _ in self.relays}
        self.networks = [n.name for n in plan.lab.captured_networks() if n.name in relayed]

    async def start(self) -> None:
        for _, relay in self.relays:
            await relay.start()

    async def stop(self) -> None:
        for _, relay in self.relays:
            await relay.stop()

    def recorder(self, directory: Path, limit: int = DEFAULT_LIMIT_BYTES) -> RelaySession:
        """A capture session into `directory`, each network's pcap capped at `limit`."""
        return RelaySession(self.relays, self.networks, directory, limit)


class RelaySession:
    """One capture session recorded by the relays (a Recorder)."""

    def __init__(self, relays: list[tuple[str, RecordingRelay]], networks: list[str],
                 directory: Path, limit: int = DEFAULT_LIMIT_BYTES) -> None:
        self.relays = relays  # (network, relay)
        self.networks = networks  # in the order the pcaps are listed
        self.directory = directory
        self.limit = limit
        self._recordings: dict[str, SharedRecording] = {}

    def pcaps(self) -> dict[str, Path]:
        return {n: self.directory / f"{n}.pcap" for n in self.networks}

    async def start(self) -> None:
        """Open each network's pcap (with the limit), then let the relays record into it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        pcaps = self.pcaps()
        self._recordings = {n: SharedRecording.join(p, self.limit) for n, p in pcaps.items()}
        for network, relay in self.relays:
            relay.start_recording(pcaps[network])

    async def stop(self) -> dict[str, NetworkRecording]:
        """Stop recording once the relayed connections ended; each pcap with its notes."""
        for _, relay in self.relays:
            # a connection still open after the grace period is recorded as far as it got
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(relay.wait_idle(), IDLE_GRACE_S)
            relay.stop_recording()
        recordings = {}
        for network, pcap in self.pcaps().items():
            recording = self._recordings[network]
            over = recording.writer.packets_over_limit
            problems = [limit_note(network, self.limit, over)] if over else []
            recording.leave()
            recordings[network] = NetworkRecording(pcap, problems)
        self._recordings = {}
        return recordings

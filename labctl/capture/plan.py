# The capture plan: for each captured lab network, where its packets can be seen.
# compose: the network's Linux bridge (from outside every role container, so any
# role image is recorded); local: the loopback interface, filtered to the network's
# own 127.77.N.0/24 range. Derived from the lab model, like everything else. Each
# target also says how a packet can be put where its capture sees it (the end-of-capture
# marker, see tcpdump.py): local, a datagram to an unused address of the network's
# loopback range (loopback never leaves the host); compose, where the host has no
# address on the bridges, an Ethernet frame written onto the bridge itself.
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from labctl.model import Addressing, Runtime


@dataclass(frozen=True)
class CaptureTarget:
    network: str
    interface: str
    bpf_filter: str  # tcpdump filter expression ("" captures every frame)
    marker_address: str | None  # send a datagram here; None: a frame on the interface

    def pcap_name(self) -> str:
        return f"{self.network}.pcap"


def capture_plan(plan: Addressing) -> list[CaptureTarget]:
    """One capture target per captured network of the lab, in model order."""
    targets = []
    for network in plan.lab.captured_networks():
        if plan.runtime is Runtime.COMPOSE:
            targets.append(CaptureTarget(network.name, plan.bridge(network), "", None))
        else:
            subnet = ipaddress.ip_network(plan.subnet(network))
            targets.append(CaptureTarget(network.name, "lo", f"net {subnet}",
                                         str(subnet.broadcast_address - 1)))
    return targets

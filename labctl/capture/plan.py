# The capture plan: for each captured lab network, where its packets can be seen.
# compose: the network's Linux bridge (from outside every role container, so any
# role image is recorded); local: the loopback interface, filtered to the network's
# own 127.77.N.0/24 range. Derived from the lab model, like everything else. Each
# target also names an address on its network that the controller can send a datagram
# to, so that packet is seen by that network's capture (the end-of-capture marker).
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from labctl.model import Addressing, Runtime


@dataclass(frozen=True)
class CaptureTarget:
    network: str
    interface: str
    bpf_filter: str  # tcpdump filter expression ("" captures every frame)
    marker_address: str  # a datagram sent here crosses what this target captures

    def pcap_name(self) -> str:
        return f"{self.network}.pcap"


def capture_plan(plan: Addressing) -> list[CaptureTarget]:
    """One capture target per captured network of the lab, in model order."""
    targets = []
    for network in plan.lab.captured_networks():
        if plan.runtime is Runtime.COMPOSE:
            member = plan.lab.roles_on(network.name)[0]  # behind the bridge
            targets.append(CaptureTarget(network.name, plan.bridge(network), "",
                                         plan.address(member, network.name)))
        else:
            subnet = ipaddress.ip_network(plan.subnet(network))
            targets.append(CaptureTarget(network.name, "lo", f"net {subnet}",
                                         str(subnet.broadcast_address - 1)))
    return targets

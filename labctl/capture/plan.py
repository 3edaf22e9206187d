# The capture plan: for each captured lab network, where its packets can be seen.
# compose: the network's Linux bridge (from outside every role container, so any
# role image is recorded); local: the loopback interface, filtered to the network's
# own 127.77.N.0/24 range. Derived from the lab model, like everything else.
from __future__ import annotations

from dataclasses import dataclass

from labctl.model import Addressing, Runtime


@dataclass(frozen=True)
class CaptureTarget:
    network: str
    interface: str
    bpf_filter: str  # tcpdump filter expression ("" captures every frame)

    def pcap_name(self) -> str:
        return f"{self.network}.pcap"


def capture_plan(plan: Addressing) -> list[CaptureTarget]:
    """One capture target per captured network of the lab, in model order."""
    targets = []
    for network in plan.lab.captured_networks():
        if plan.runtime is Runtime.COMPOSE:
            targets.append(CaptureTarget(network.name, plan.bridge(network), ""))
        else:
            targets.append(CaptureTarget(network.name, "lo", f"net {plan.subnet(network)}"))
    return targets

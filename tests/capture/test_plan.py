# The capture plan: one target per captured network, and an end-of-capture marker that
# lands inside what the target captures without reaching any role.
from __future__ import annotations

import ipaddress

from labctl.capture.plan import capture_plan
from labctl.model import addressing


def test_local_marker_address_is_in_the_network_and_nobodys() -> None:
    plan = addressing("local")
    targets = capture_plan(plan)
    assert [t.network for t in targets] == [n.name for n in plan.lab.captured_networks()]
    for target in targets:
        assert target.marker_address is not None
        subnet = ipaddress.ip_network(plan.subnet(target.network))
        assert ipaddress.ip_address(target.marker_address) in subnet
        assert target.bpf_filter == f"net {subnet}" and target.interface == "lo"
        members = {plan.address(role, target.network) for role in plan.lab.roles_on(target.network)}
        assert target.marker_address not in members


def test_compose_marker_is_a_frame_on_the_bridge() -> None:
    plan = addressing("compose")
    for target in capture_plan(plan):
        assert target.marker_address is None and target.bpf_filter == ""
        assert target.interface == plan.bridge(target.network)

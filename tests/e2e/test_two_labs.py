# Two local labs at once on one machine: each its own instance (addresses, ports,
# state, captures), both graded at the same time, each capture holding its own lab only.
from __future__ import annotations

import ipaddress
import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from labctl.client import ControllerClient
from labctl.model import LAB, LabInstance, addressing
from tests.conftest import TEST_INSTANCE
from tests.e2e.basic_delivery import assert_basic_delivery_report, run_scenario
from tests.e2e.local_labs import running_local_lab

pytestmark = pytest.mark.local


def other_instance() -> LabInstance:
    """An instance of the tests' own on another slot than TEST_INSTANCE's."""
    for n in itertools.count():
        instance = LabInstance.named(f"{TEST_INSTANCE.name}-b{n}")
        if instance.slot != TEST_INSTANCE.slot:
            return instance
    raise AssertionError("unreachable")


def lab_networks(instance: LabInstance) -> list[ipaddress.IPv4Network]:
    plan = addressing("local", instance=instance)
    return [ipaddress.ip_network(plan.subnet(network)) for network in LAB.networks]


def addresses_seen(report: dict[str, Any]) -> set[ipaddress.IPv4Address]:
    return {ipaddress.ip_address(endpoint.rsplit(":", 1)[0])
            for hop in report["hops"] for conversation in hop["conversations"]
            for endpoint in (conversation["client"], conversation["server"])}


def test_two_labs_run_and_grade_at_the_same_time(tmp_path: Path) -> None:
    first, second = TEST_INSTANCE, other_instance()
    with running_local_lab(tmp_path / "a", "tcpdump", instance=first) as lab_a, \
            running_local_lab(tmp_path / "b", "tcpdump", instance=second) as lab_b:
        controllers = [ControllerClient(lab.controller_url()) for lab in (lab_a, lab_b)]
        assert len({c.base_url for c in controllers}) == 2
        with ThreadPoolExecutor(2) as pool:
            reports = list(pool.map(lambda c: run_scenario(c, "basic-delivery"), controllers))
    for instance, report in zip((first, second), reports, strict=True):
        assert_basic_delivery_report(report, "local")
        own, other = lab_networks(instance), lab_networks(second if instance is first else first)
        seen = addresses_seen(report)
        assert seen and all(any(a in net for net in own) for a in seen), (instance, seen)
        assert not any(a in net for a in seen for net in other)
    pcaps = [{Path(h["pcap"]).parent for h in report["hops"]} for report in reports]
    assert not pcaps[0] & pcaps[1], "each lab writes its captures in its own folder"

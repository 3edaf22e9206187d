# Two local labs at once on one machine: each its own instance (addresses, ports,
# state, captures), both graded at the same time, each capture holding its own lab only.
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from labctl.client import ControllerClient
from tests.conftest import TEST_INSTANCE, second_test_instance
from tests.e2e.basic_delivery import (
    assert_basic_delivery_report,
    assert_own_addresses_only,
    run_scenario,
)
from tests.e2e.local_labs import running_local_lab

pytestmark = pytest.mark.local


def test_two_labs_run_and_grade_at_the_same_time(tmp_path: Path) -> None:
    first, second = TEST_INSTANCE, second_test_instance()
    with running_local_lab(tmp_path / "a", "tcpdump", instance=first) as lab_a, \
            running_local_lab(tmp_path / "b", "tcpdump", instance=second) as lab_b:
        controllers = [ControllerClient(lab.controller_url()) for lab in (lab_a, lab_b)]
        assert len({c.base_url for c in controllers}) == 2
        with ThreadPoolExecutor(2) as pool:
            reports = list(pool.map(lambda c: run_scenario(c, "basic-delivery"), controllers))
    assert_own_addresses_only(reports[0], "local", first, second)
    assert_own_addresses_only(reports[1], "local", second, first)
    for report in reports:
        assert_basic_delivery_report(report, "local")
    pcaps = [{Path(h["pcap"]).parent for h in report["hops"]} for report in reports]
    assert not pcaps[0] & pcaps[1], "each lab writes its captures in its own folder"

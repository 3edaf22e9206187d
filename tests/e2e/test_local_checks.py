# Every check type on a correct local lab (both capture modes): one message from Alice
# to Bob, graded by all of them from the per-link captures; each must pass, so that no
# check fails a lab that works (their failing cases: tests/scenarios/checks).
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labctl.client import ControllerClient
from tests.conftest import DATA
from tests.e2e.local_labs import capture_modes, running_local_lab

pytestmark = pytest.mark.local
EVERY_CHECK = DATA / "scenarios" / "every-check.yaml"


@pytest.fixture(scope="module", params=capture_modes())
def local_lab(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControllerClient]:
    with running_local_lab(tmp_path_factory.mktemp("maillab-checks"), request.param) as lab:
        yield ControllerClient(lab.controller_url())


def test_every_check_passes_on_a_correct_lab(local_lab: ControllerClient) -> None:
    body = {"scenario": Path(EVERY_CHECK).read_text(), "source": EVERY_CHECK.name}
    report = local_lab.request("POST", "/runs", body)["report"]
    failed = {c["name"]: c["output"] for c in report["checks"] if not c["passed"]}
    assert failed == {}
    assert report["score"] == report["max_score"] == len(report["checks"])

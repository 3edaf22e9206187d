# The local runtime end to end: the real role programs as processes on loopback,
# the controller, basic-delivery graded from the per-link pcaps.
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labctl.backends.local import LocalBackend
from labctl.client import ControllerClient
from tests.conftest import PROJECT
from tests.e2e.basic_delivery import assert_basic_delivery_report, assert_pcaps_readable

pytestmark = pytest.mark.local


@pytest.fixture(scope="module")
def local_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControllerClient]:
    home = tmp_path_factory.mktemp("maillab-local")
    patch = pytest.MonkeyPatch()
    patch.setenv("MAILLAB_CAPTURES_DIR", str(home / "captures"))
    backend = LocalBackend(home=home)
    try:
        backend.up(lambda _: None)
        yield ControllerClient(backend.controller_url())
    finally:
        backend.down(lambda _: None)
        patch.undo()


def test_basic_delivery_passes_with_smtp_smtp_pop3(local_lab: ControllerClient) -> None:
    scenario = PROJECT / "scenarios" / "basic-delivery.yaml"
    body = {"scenario": scenario.read_text(), "source": str(scenario)}
    report = local_lab.request("POST", "/runs", body)["report"]
    assert_basic_delivery_report(report, "local")
    assert_pcaps_readable(report, "local")
    assert all(Path(h["pcap"]).parent.parent.name == "captures" for h in report["hops"])


def test_malformed_api_body_gets_422_naming_the_field(local_lab: ControllerClient) -> None:
    from labctl.client import ControllerError

    with pytest.raises(ControllerError, match=r"422.*to"):
        local_lab.request("POST", "/messages", {"to": "not-an-address"})

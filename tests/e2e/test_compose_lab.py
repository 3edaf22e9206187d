# The compose runtime end to end, through testcontainers' DockerCompose: the real
# images on internal networks, captures from the bridges, basic-delivery graded.
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from testcontainers.compose import DockerCompose

from labctl.backends.images import LOCAL_BASE_IMAGE, choose_base_image, fill_wheelhouse
from labctl.client import ControllerClient
from labctl.model import addressing
from tests.conftest import PROJECT
from tests.e2e.basic_delivery import assert_basic_delivery_report, assert_pcaps_readable

pytestmark = pytest.mark.compose


@pytest.fixture(scope="module")
def compose_lab(
    docker_engine: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ControllerClient]:
    base = choose_base_image(docker.from_env(), PROJECT, print)
    if base == LOCAL_BASE_IMAGE:
        fill_wheelhouse(PROJECT, print)
    captures = tmp_path_factory.mktemp("compose-captures")
    patch = pytest.MonkeyPatch()
    patch.setenv("MAILLAB_BASE_IMAGE", base)
    patch.setenv("MAILLAB_CAPTURES_DIR", str(captures))
    lab = DockerCompose(PROJECT, compose_file_name="compose.yaml", build=True, wait=True)
    try:
        lab.start()
        yield ControllerClient(addressing("compose").controller_url())
    finally:
        lab.stop(down=True)
        patch.undo()


def test_basic_delivery_passes_with_smtp_smtp_pop3(
    compose_lab: ControllerClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    scenario = PROJECT / "scenarios" / "basic-delivery.yaml"
    body = {"scenario": scenario.read_text(), "source": str(scenario)}
    report = compose_lab.request("POST", "/runs", body)["report"]
    assert_basic_delivery_report(report, "compose")
    assert_pcaps_readable(report, "compose")
    assert {Path(h["pcap"]).name for h in report["hops"]} == {
        "alice-lan.pcap", "internet.pcap", "bob-lan.pcap"
    }


def test_lab_networks_are_sealed(compose_lab: ControllerClient) -> None:
    client = docker.from_env()
    for network in client.networks.list(filters={"label": "com.docker.compose.project=maillab"}):
        assert network.attrs["Internal"] is True, network.name

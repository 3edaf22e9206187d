# The compose runtime end to end, through testcontainers' DockerCompose: the real
# images on internal networks, captures from the bridges, basic-delivery graded.
from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from testcontainers.compose import DockerCompose

from labctl.backends.images import LOCAL_BASE_IMAGE, choose_base_image, fill_wheelhouse
from labctl.client import ControllerClient
from labctl.model import LAB, addressing
from tests.conftest import DATA, PROJECT
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
    networks = client.networks.list(filters={"label": "com.docker.compose.project=maillab"})
    assert len(networks) == len(LAB.networks)
    for network in networks:
        assert network.attrs["Internal"] is True, network.name
    # Docker keeps a default route in the containers but drops whatever leaves an
    # internal network: Alice's PC reaches her server on alice-lan, and nothing beyond
    # (here: the same server's address on the internet network, a lab address).
    plan = addressing("compose")
    probe = (
        "import socket,sys\n"
        "try:\n socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()\n"
        "except OSError as e:\n print(e); sys.exit(1)\n"
    )
    alice_pc = client.containers.get("maillab-sender-ua-1")
    inside = alice_pc.exec_run(["python", "-c", probe, plan.address("sender-mta", "alice-lan"),
                                str(plan.port("sender-mta", "submission"))])
    assert inside.exit_code == 0, inside.output
    beyond = alice_pc.exec_run(["python", "-c", probe, plan.address("sender-mta", "internet"),
                                str(plan.port("sender-mta", "smtp"))])
    assert beyond.exit_code == 1, "a packet left alice-lan"


def test_wrong_protocol_fails_naming_hop_expected_and_observed(
    compose_lab: ControllerClient,
) -> None:
    scenario = DATA / "scenarios" / "expects-pop3-from-alice.yaml"
    body = {"scenario": scenario.read_text(), "source": scenario.name}
    report = compose_lab.request("POST", "/runs", body)["report"]
    assert not report["passed"] and report["score"] == 0
    (check,) = report["checks"]
    assert check["output"].startswith("hop sender-ua -> sender-mta: expected POP3, observed SMTP")


def test_telnet_demo_through_labctl_shell_mallory_lands_in_bobs_mailbox(
    compose_lab: ControllerClient,
) -> None:
    # mallory resolves mail.hamburger.edu through the lab's DNS and types the lecture's
    # dialog into telnet (stdin is no terminal: the shell runs the script given there).
    script = (DATA / "telnet-demo.sh").read_text()
    result = subprocess.run(
        [sys.executable, "-m", "labctl.cli", "--backend", "compose", "shell", "mallory"],
        input=script, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Connected to mail.hamburger.edu." in result.stdout
    assert result.stdout.splitlines()[-1] == "S: 221 2.0.0 Bye"
    mailbox = compose_lab.request("GET", "/servers/receiver-mta/mailboxes/bob@hamburger.edu")
    assert "telnet demo" in [m["subject"] for m in mailbox]


def test_mallory_has_the_tools_and_asks_only_the_labs_dns(compose_lab: ControllerClient) -> None:
    mallory = docker.from_env().containers.get("maillab-mallory-1")
    tools = mallory.exec_run(["sh", "-c", "for t in telnet nc swaks curl s-nail dig; do "
                                            "command -v $t || exit 1; done"])
    assert tools.exit_code == 0 and len(tools.output.split()) == 6, tools.output
    mx = mallory.exec_run(["dig", "+short", "hamburger.edu", "MX"])
    assert mx.output.decode().strip() == "10 mail.hamburger.edu."
    outside = mallory.exec_run(["dig", "@10.77.2.53", "www.example.com", "A"])
    assert b"status: REFUSED" in outside.output, outside.output

# The local runtime end to end: the real role programs as processes on loopback,
# the controller, basic-delivery graded from the per-link pcaps.
from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from labctl.analysis.pcap_reader import read_capture
from labctl.backends.local import LocalBackend
from labctl.capture.relay import RELAY_COMMENT
from labctl.capture.tcpdump import can_capture_packets
from labctl.client import ControllerClient
from labctl.model import addressing
from labctl.model.zone import resolver_address
from tests.conftest import DATA, PROJECT
from tests.e2e.basic_delivery import assert_basic_delivery_report, assert_pcaps_readable

pytestmark = pytest.mark.local


def _capture_modes() -> list[object]:
    packets = pytest.mark.skipif(
        not can_capture_packets(), reason="this user may not capture packets with tcpdump"
    )
    return [pytest.param("tcpdump", marks=packets), "relay"]


@pytest.fixture(scope="module", params=_capture_modes())
def local_lab(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ControllerClient]:
    home = tmp_path_factory.mktemp("maillab-local")
    patch = pytest.MonkeyPatch()
    patch.setenv("MAILLAB_CAPTURES_DIR", str(home / "captures"))
    patch.setenv("MAILLAB_CAPTURE_MODE", request.param)
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
    relayed = [RELAY_COMMENT in read_capture(h["pcap"]).comments for h in report["hops"]]
    lab_mode = local_lab.request("GET", "/health")["capture_mode"]
    assert relayed == [lab_mode == "relay"] * 3, "only relay recordings say they are synthesized"


def test_malformed_api_body_gets_422_naming_the_field(local_lab: ControllerClient) -> None:
    from labctl.client import ControllerError

    with pytest.raises(ControllerError, match=r"422.*to"):
        local_lab.request("POST", "/messages", {"to": "not-an-address"})


def test_wrong_protocol_fails_naming_hop_expected_and_observed(local_lab: ControllerClient) -> None:
    scenario = DATA / "scenarios" / "expects-pop3-from-alice.yaml"
    body = {"scenario": scenario.read_text(), "source": scenario.name}
    report = local_lab.request("POST", "/runs", body)["report"]
    assert not report["passed"]
    assert report["checks"][0]["output"].startswith(
        "hop sender-ua -> sender-mta: expected POP3, observed SMTP"
    )


def test_relay_asks_the_labs_dns_before_it_connects(local_lab: ControllerClient) -> None:
    if local_lab.request("GET", "/health")["capture_mode"] != "tcpdump":
        pytest.skip("relay recordings hold only the relayed TCP streams, not DNS over UDP")
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed")
    scenario = PROJECT / "scenarios" / "basic-delivery.yaml"
    report = local_lab.request("POST", "/runs", {"scenario": scenario.read_text()})["report"]
    (internet,) = [h["pcap"] for h in report["hops"] if h["network"] == "internet"]
    plan = addressing("local")
    sender, (dns_host, dns_port) = plan.address("sender-mta", "internet"), resolver_address(plan)
    result = subprocess.run(
        ["tshark", "-r", internet, "-d", f"udp.port=={dns_port},dns",
         "-Y", f"ip.src == {sender} && (dns.flags.response == 0 || tcp.flags == 0x002)",
         "-T", "fields", "-E", "separator=,", "-e", "ip.src", "-e", "ip.dst",
         "-e", "dns.qry.name", "-e", "dns.qry.type"],
        capture_output=True, text=True, timeout=60, check=True,
    )
    packets = [line.split(",") for line in result.stdout.splitlines()]
    receiver = plan.address("receiver-mta", "internet")
    assert packets[:3] == [
        [sender, dns_host, "hamburger.edu", "15"],  # MX
        [sender, dns_host, "mail.hamburger.edu", "1"],  # A of the MX host
        [sender, receiver, "", ""],  # then the SYN of the SMTP connection
    ], packets

# What every end-to-end run of basic-delivery (and of its IMAP and webmail twins) must
# show, whatever the backend: a full score, the expected protocol on each of the three
# hops (SMTP / SMTP / POP3 for basic-delivery), the servers' SMTP dialog in the
# transcript, and one pcap per network that our reader and tshark both open.
from __future__ import annotations

import ipaddress
import shutil
import subprocess
from pathlib import Path
from typing import Any

from labctl.analysis.pcap_reader import read_capture
from labctl.client import ControllerClient
from labctl.model import LAB, LabInstance, addressing
from tests.conftest import PROJECT

# Bob reading over IMAP and HTTP, and Alice writing in her webmail: (scenario in
# scenarios/, the protocol on Alice's link, the protocol on Bob's link).
READING_SCENARIOS = [("imap-delivery", "SMTP", "IMAP"), ("webmail-delivery", "HTTP", "HTTP")]

ALICE_LINK = ("sender-ua", "sender-mta")
SERVERS_LINK = ("sender-mta", "receiver-mta")
BOB_LINK = ("receiver-ua", "receiver-mta")
NETWORKS = {ALICE_LINK: "alice-lan", SERVERS_LINK: "internet", BOB_LINK: "bob-lan"}
# (link, protocol) -> (the server's service, tshark's dissector)
SERVICES = {  # (hop, protocol) -> (the server's service, tshark's dissector, transport)
    (ALICE_LINK, "SMTP"): ("submission", "smtp", "tcp"),
    (ALICE_LINK, "HTTP"): ("webmail", "http", "tcp"),
    (SERVERS_LINK, "SMTP"): ("smtp", "smtp", "tcp"),
    (("sender-mta", "dns"), "DNS"): ("dns", "dns", "udp"),  # the MX lookup before the relay
    (BOB_LINK, "POP3"): ("pop3", "pop", "tcp"), (BOB_LINK, "IMAP"): ("imap", "imap", "tcp"),
    (BOB_LINK, "HTTP"): ("webmail", "http", "tcp"),
}


def assert_basic_delivery_report(report: dict[str, Any], backend: str, alice: str = "SMTP",
                                 bob: str = "POP3") -> None:
    """The report of a successful delivery run on `backend`, Alice's and Bob's links
    carrying `alice` and `bob`."""
    failed = [c for c in report["checks"] if not c["passed"]]
    assert report["passed"], f"failed checks: {failed}"
    assert report["backend"] == backend
    assert report["score"] == report["max_score"] > 0
    hops = {(h["client_role"], h["server_role"]): h for h in report["hops"]}
    expected = {ALICE_LINK: alice, SERVERS_LINK: "SMTP", BOB_LINK: bob}
    for pair, protocol in expected.items():
        assert pair in hops, f"no hop {pair} in {list(hops)}"
        assert hops[pair]["network"] == NETWORKS[pair]
        assert hops[pair]["protocols"] == [protocol]
    relay = hops[("sender-mta", "receiver-mta")]["conversations"][0]["transcript"]
    assert relay[0].startswith("S: 220 ")
    assert "C: ." in relay and relay[-1].startswith("S: 221")


def assert_pcaps_readable(report: dict[str, Any], runtime: str) -> None:
    """Each hop's pcap exists, parses, and (when tshark is here) tshark sees the protocol."""
    plan = addressing(runtime)
    for hop in report["hops"]:
        pcap = Path(hop["pcap"])
        assert pcap.exists() and pcap.stat().st_size > 0, pcap
        assert read_capture(pcap).packets, f"no packets in {pcap}"
        if shutil.which("tshark") is None:
            continue
        link = (hop["client_role"], hop["server_role"])
        service, dissector, transport = SERVICES[(link, hop["protocols"][0])]
        port = plan.port(hop["server_role"], service)
        result = subprocess.run(
            ["tshark", "-r", str(pcap), "-d", f"{transport}.port=={port},{dissector}",
             "-Y", dissector],
            capture_output=True, text=True, timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip(), f"tshark sees no {dissector} in {pcap}"


def run_scenario(controller: ControllerClient, name: str) -> dict[str, Any]:
    """Run scenarios/<name>.yaml on the lab behind `controller`; its report."""
    path = PROJECT / "scenarios" / f"{name}.yaml"
    body = {"scenario": path.read_text(), "source": str(path)}
    report: dict[str, Any] = controller.request("POST", "/runs", body)["report"]
    return report


def assert_own_addresses_only(report: dict[str, Any], runtime: str, own: LabInstance,
                              other: LabInstance) -> None:
    """Every conversation of `report` is between addresses of lab `own`, none of `other`."""
    def networks(instance: LabInstance) -> list[ipaddress.IPv4Network]:
        plan = addressing(runtime, instance=instance)
        return [ipaddress.IPv4Network(plan.subnet(network)) for network in LAB.networks]

    seen = {ipaddress.IPv4Address(endpoint.rsplit(":", 1)[0])
            for hop in report["hops"] for conversation in hop["conversations"]
            for endpoint in (conversation["client"], conversation["server"])}
    mine, theirs = networks(own), networks(other)
    assert seen and all(any(a in net for net in mine) for a in seen), (own, seen)
    assert not any(a in net for a in seen for net in theirs), (own, seen)

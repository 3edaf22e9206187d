# Noise on a captured link (ARP, IPv6 neighbour discovery, ICMP errors, stray UDP) stays
# in the pcap but out of the verdicts: the same SMTP capture with noise woven through it
# gives the same hops, conversations and check results as without.
from __future__ import annotations

import socket
import struct
from pathlib import Path

from labctl.analysis import analyze_captures
from labctl.analysis.pcap_reader import read_capture
from labctl.capture.packet_build import ethernet_frame, mac_for
from labctl.capture.pcap_writer import PcapWriter
from labctl.model import Addressing, addressing
from labctl.reports import HopReport
from labctl.scenarios import Evidence, evaluate, parse_scenario
from tests.analysis.conftest import PCAPS

SMTP_CAPTURE = PCAPS / "smtp_real_lo.pcap"
SCENARIO = parse_scenario(
    """
name: noise
steps: [{send: {to: bob@hamburger.edu, subject: s, body: b}}]
checks:
  - {name: relay, points: 1, type: hop_protocol, hop: sender-mta -> receiver-mta, expect: SMTP}
  - {name: dialog, points: 2, type: smtp_dialog}
  - {name: pull, points: 1, type: hop_protocol, hop: receiver-ua -> receiver-mta, expect: POP3}
""",
    "noise",
)


def _ipv4(src: str, dst: str, protocol: int, payload: bytes) -> bytes:
    header = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, protocol, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
    return header + payload


def noise_frames(plan: Addressing) -> list[bytes]:
    """ARP who-has, an ICMPv6 neighbour solicitation, a stray UDP datagram and its ICMP error."""
    sender = plan.address("sender-mta", "internet")
    receiver = plan.address("receiver-mta", "internet")
    arp = (b"\xff" * 6 + mac_for(sender) + struct.pack(">H", 0x0806)
           + struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1) + mac_for(sender)
           + socket.inet_aton(sender) + b"\0" * 6 + socket.inet_aton(receiver))
    solicitation = struct.pack(">BBHI", 135, 0, 0, 0) + socket.inet_pton(socket.AF_INET6, "fe80::2")
    ipv6 = (struct.pack(">IHBB", 6 << 28, len(solicitation), 58, 255)
            + socket.inet_pton(socket.AF_INET6, "fe80::1")
            + socket.inet_pton(socket.AF_INET6, "ff02::1:ff00:2") + solicitation)
    icmpv6 = b"\x33\x33\xff\x00\x00\x02" + mac_for(sender) + struct.pack(">H", 0x86DD) + ipv6
    udp = struct.pack(">HHHH", 40000, 9, 8 + 5, 0) + b"stray"
    datagram = _ipv4(sender, receiver, socket.IPPROTO_UDP, udp)
    unreachable = _ipv4(receiver, sender, socket.IPPROTO_ICMP,
                        struct.pack(">BBHI", 3, 3, 0, 0) + datagram)
    return [arp, icmpv6, ethernet_frame(sender, receiver, datagram),
            ethernet_frame(receiver, sender, unreachable)]


def _with_noise(clean: Path, noisy: Path, plan: Addressing) -> int:
    """Write `clean`'s packets to `noisy` with the noise before, between and after them."""
    packets = read_capture(clean).packets
    noise = noise_frames(plan)
    with PcapWriter(noisy, linktype=packets[0].linktype) as writer:
        for packet in packets:
            for frame in noise:
                writer.write_packet(packet.timestamp, frame)
            writer.write_packet(packet.timestamp, packet.data)
        for frame in noise:
            writer.write_packet(packets[-1].timestamp, frame)
    return len(noise) * (len(packets) + 1)


def test_noise_stays_in_the_pcap_and_out_of_the_verdicts(tmp_path: Path) -> None:
    plan = addressing("local")
    noisy = tmp_path / "internet.pcap"
    added = _with_noise(SMTP_CAPTURE, noisy, plan)
    assert len(read_capture(noisy).packets) == len(read_capture(SMTP_CAPTURE).packets) + added

    clean_hops = analyze_captures({"internet": SMTP_CAPTURE}, plan)
    noisy_hops = analyze_captures({"internet": noisy}, plan)
    summary = [HopReport.from_hop(h).model_dump(exclude={"pcap", "problems"}) for h in clean_hops]
    assert [HopReport.from_hop(h).model_dump(exclude={"pcap", "problems"})
            for h in noisy_hops] == summary
    assert all(any("skipped" in note for note in h.problems) for h in noisy_hops)  # counted
    clean = [evaluate(check, Evidence(SCENARIO, clean_hops)) for check in SCENARIO.checks]
    with_noise = [evaluate(check, Evidence(SCENARIO, noisy_hops)) for check in SCENARIO.checks]
    assert with_noise == clean
    assert [r.passed for r in with_noise] == [True, True, False]  # no POP3 in this capture

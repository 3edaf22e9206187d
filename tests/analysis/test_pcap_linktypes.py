# Every link type, IPv4 and IPv6, VLAN tags, UDP flows and the noise around them:
# hand-made captures read through the streaming pipeline.
from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import dns.message
import pytest

from labctl.analysis import analyze_pcap_file, iter_conversations
from labctl.analysis.packet_decode import LINKTYPE_RAW, decode_packets
from labctl.analysis.pcap_reader import parse_capture
from labctl.analysis.pipeline import CaptureStreams
from labctl.analysis.results import Endpoint
from labctl.analysis.tcp_reassembly import TcpStream
from labctl.model import Addressing
from tests.analysis.handmade import (
    CLIENT4,
    CLIENT6,
    SERVER4,
    SERVER6,
    WRAPPED_LINKTYPES,
    Flow,
    ip_packet,
    link_frame,
    pcap_bytes,
    udp_packet,
)

GREETING, HELO = b"220 mail.hamburger.edu ESMTP\r\n", b"HELO crepes.fr\r\n"


def _smtp_flow(client: Endpoint, server: Endpoint) -> Flow:
    flow = Flow(client, server)
    flow.session(1.0, [(False, GREETING), (True, HELO)])
    flow.send(True, 0x10, b"", 1.5)  # the last ACK
    return flow


def _streams(tmp_path: Path, data: bytes) -> tuple[list[TcpStream], CaptureStreams]:
    path = tmp_path / "capture.pcap"
    path.write_bytes(data)
    streams = CaptureStreams(path)
    return list(streams), streams


@pytest.mark.parametrize("linktype", WRAPPED_LINKTYPES)
@pytest.mark.parametrize(("client", "server"), [(CLIENT4, SERVER4), (CLIENT6, SERVER6)])
def test_every_link_type_and_ip_version_gives_the_same_stream(
    tmp_path: Path, linktype: int, client: Endpoint, server: Endpoint
) -> None:
    data = pcap_bytes(_smtp_flow(client, server).packets, linktype)
    [stream], capture = _streams(tmp_path, data)
    assert (stream.client, stream.server) == (client, server)
    assert [(s.from_client, s.data) for s in stream.segments] == [(False, GREETING),
                                                                  (True, HELO)]
    assert stream.phases.close == "fin" and not capture.problems and not capture.incomplete


@pytest.mark.parametrize("vlans", [(7,), (7, 300)])
def test_vlan_tagged_frames_are_read(tmp_path: Path, vlans: tuple[int, ...]) -> None:
    [stream], _ = _streams(tmp_path, pcap_bytes(_smtp_flow(CLIENT6, SERVER6).packets,
                                                vlans=vlans))
    assert stream.segments[0].data == GREETING


def test_ipv6_extension_headers_are_skipped() -> None:
    flow = _smtp_flow(CLIENT6, SERVER6)
    time, packet = flow.packets[3]  # the greeting
    hop_by_hop = bytes([6, 0]) + bytes(6)  # next header TCP, 8 bytes long
    payload = hop_by_hop + packet[40:]
    extended = packet[:4] + struct.pack(">HB", len(payload), 0) + packet[7:40] + payload
    decoded = decode_packets(parse_capture(pcap_bytes([(time, extended)])).packets)
    assert [p.payload for p in decoded.packets] == [GREETING]


_QUERY = dns.message.make_query("hamburger.edu", "MX", id=0x1234)
DNS_QUERY, DNS_ANSWER = _QUERY.to_wire(), dns.message.make_response(_QUERY).to_wire()
RESOLVER, ASKER = Endpoint("127.77.2.53", 53), Endpoint("127.77.2.25", 41000)


def test_dns_over_udp_is_a_conversation_one_segment_per_datagram(
    tmp_path: Path, local: Addressing
) -> None:
    packets = [(1.0, udp_packet(ASKER, RESOLVER, DNS_QUERY)),
               (1.1, udp_packet(RESOLVER, ASKER, DNS_ANSWER)),
               (1.2, udp_packet(ASKER, RESOLVER, DNS_QUERY))]
    path = tmp_path / "dns.pcap"
    path.write_bytes(pcap_bytes(packets))
    [conversation] = analyze_pcap_file(path, "internet", local).conversations
    assert conversation.transport == "udp"
    assert (conversation.client, conversation.server) == (ASKER, RESOLVER)
    assert [(s.from_client, s.data) for s in conversation.segments] == [
        (True, DNS_QUERY), (False, DNS_ANSWER), (True, DNS_QUERY)]


def test_udp_client_is_the_side_not_on_port_53(tmp_path: Path) -> None:
    packets = [(1.0, udp_packet(RESOLVER, ASKER, DNS_ANSWER))]  # the query was missed
    [flow], _ = _streams(tmp_path, pcap_bytes(packets))
    assert (flow.client, flow.server) == (ASKER, RESOLVER)
    assert [s.from_client for s in flow.segments] == [False]


def test_noise_is_counted_and_kept_out_of_conversations(tmp_path: Path) -> None:
    icmp = ip_packet(CLIENT4.ip, SERVER4.ip, 1, bytes(8))
    icmpv6 = ip_packet(CLIENT6.ip, SERVER6.ip, 58, bytes(8))
    arp = b"\xff" * 6 + b"\x02" * 6 + b"\x08\x06" + bytes(28)
    data = pcap_bytes([(0.5, icmp), (0.6, icmpv6), *_smtp_flow(CLIENT4, SERVER4).packets])
    data += struct.pack("<IIII", 2, 0, len(arp), len(arp)) + arp
    streams, capture = _streams(tmp_path, data)
    assert len(streams) == 1
    assert capture.problems == ["1 packet(s) skipped: ARP", "1 packet(s) skipped: ICMP",
                                "1 packet(s) skipped: ICMPv6"]


def test_unknown_link_type_is_a_note_not_a_crash(tmp_path: Path) -> None:
    frame = link_frame(LINKTYPE_RAW, _smtp_flow(CLIENT4, SERVER4).packets[0][1])
    data = bytearray(pcap_bytes([(1.0, frame)], LINKTYPE_RAW))
    data[20:24] = struct.pack("<I", 147)  # a user-defined link type
    streams, capture = _streams(tmp_path, bytes(data))
    assert streams == [] and capture.problems == ["1 packet(s) skipped: unsupported link "
                                                  "type 147"]


def test_ipv6_vlan_reordered_capture_agrees_with_tshark(
    tmp_path: Path, tshark_streams: Callable[[Path], list[tuple[bytes, bytes]]]
) -> None:
    flow = _smtp_flow(CLIENT6, SERVER6)
    flow.packets[3:5] = [flow.packets[4], flow.packets[3], flow.packets[4]]
    path = tmp_path / "ipv6.pcap"
    path.write_bytes(pcap_bytes(flow.packets, vlans=(12,)))
    ours = [(b"".join(s.data for s in stream.segments if s.from_client),
             b"".join(s.data for s in stream.segments if not s.from_client))
            for stream in CaptureStreams(path)]
    assert ours == tshark_streams(path) == [(HELO, GREETING)]


def test_streaming_and_whole_file_analysis_agree(pcaps: Path, local: Addressing) -> None:
    path = pcaps / "internet_mixed.pcapng"
    streamed = list(iter_conversations(path, "internet", local))
    whole = analyze_pcap_file(path, "internet", local).conversations
    assert sorted(streamed, key=lambda c: c.start) == whole
    assert len(whole) == 3 and {c.transport for c in whole} == {"tcp"}  # its UDP is not DNS

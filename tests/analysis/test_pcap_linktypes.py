# Every link type, IPv4 and IPv6, VLAN tags, UDP flows and the noise around them:
# hand-made captures (tests/data/pcaps/handmade/, see the README there) read through
# the streaming pipeline.
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from labctl.analysis import analyze_pcap_file, iter_conversations
from labctl.analysis.packet_decode import decode_packets
from labctl.analysis.pcap_reader import read_capture
from labctl.analysis.pipeline import CaptureStreams
from labctl.analysis.results import Endpoint
from labctl.analysis.tcp_reassembly import TcpStream
from labctl.model import Addressing
from tests.analysis.handmade import CLIENT4, CLIENT6, SERVER4, SERVER6, WRAPPED_LINKTYPES
from tests.analysis.handmade_captures import (
    ASKER,
    DNS_ANSWER,
    DNS_QUERY,
    GREETING,
    HANDMADE,
    HELO,
    LINKTYPE_NAMES,
    RESOLVER,
)


def _streams(name: str) -> tuple[list[TcpStream], CaptureStreams]:
    streams = CaptureStreams(HANDMADE / name)
    return list(streams), streams


@pytest.mark.parametrize("linktype", WRAPPED_LINKTYPES)
@pytest.mark.parametrize(("client", "server"), [(CLIENT4, SERVER4), (CLIENT6, SERVER6)])
def test_every_link_type_and_ip_version_gives_the_same_stream(
    linktype: int, client: Endpoint, server: Endpoint
) -> None:
    version = "ipv6" if client == CLIENT6 else "ipv4"
    [stream], capture = _streams(f"smtp_{LINKTYPE_NAMES[linktype]}_{version}.pcap")
    assert {p.linktype for p in read_capture(HANDMADE / f"smtp_{LINKTYPE_NAMES[linktype]}"
                                             f"_{version}.pcap").packets} == {linktype}
    assert (stream.client, stream.server) == (client, server)
    assert [(s.from_client, s.data) for s in stream.segments] == [(False, GREETING),
                                                                  (True, HELO)]
    assert stream.phases.close == "fin" and not capture.problems and not capture.incomplete


@pytest.mark.parametrize("vlans", ["7", "7_300"])
def test_vlan_tagged_frames_are_read(vlans: str) -> None:
    [stream], _ = _streams(f"smtp_vlan_{vlans}_ipv6.pcap")
    assert stream.segments[0].data == GREETING


def test_ipv6_extension_headers_are_skipped() -> None:
    capture = read_capture(HANDMADE / "ipv6_hop_by_hop.pcap")  # the greeting, one header more
    assert capture.packets[0].data[14 + 6] == 0  # IPv6 next header: hop-by-hop options
    assert [p.payload for p in decode_packets(capture.packets).packets] == [GREETING]


def test_dns_over_udp_is_a_conversation_one_segment_per_datagram(local: Addressing) -> None:
    [conversation] = analyze_pcap_file(HANDMADE / "dns_udp.pcap", "internet",
                                       local).conversations
    assert conversation.transport == "udp"
    assert (conversation.client, conversation.server) == (ASKER, RESOLVER)
    assert [(s.from_client, s.data) for s in conversation.segments] == [
        (True, DNS_QUERY), (False, DNS_ANSWER), (True, DNS_QUERY)]


def test_udp_client_is_the_side_not_on_port_53() -> None:
    [flow], _ = _streams("dns_answer_only.pcap")  # the query was missed
    assert (flow.client, flow.server) == (ASKER, RESOLVER)
    assert [s.from_client for s in flow.segments] == [False]


def test_noise_is_counted_and_kept_out_of_conversations() -> None:
    streams, capture = _streams("noise.pcap")
    assert len(streams) == 1
    assert capture.problems == ["1 packet(s) skipped: ARP", "1 packet(s) skipped: ICMP",
                                "1 packet(s) skipped: ICMPv6"]


def test_unknown_link_type_is_a_note_not_a_crash() -> None:
    streams, capture = _streams("unknown_link_type.pcap")  # a SYN, link type 147
    assert streams == [] and capture.problems == ["1 packet(s) skipped: unsupported link "
                                                  "type 147"]


def test_ipv6_vlan_reordered_capture_agrees_with_tshark(
    tshark_streams: Callable[[Path], list[tuple[bytes, bytes]]]
) -> None:
    path = HANDMADE / "ipv6_vlan_reordered.pcap"  # the greeting after HELO, and twice
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

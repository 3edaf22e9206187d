# Makes the hand-made captures of tests/data/pcaps/handmade/ (see the README there).
#
#   PYTHONPATH=. python -m tests.analysis.handmade_captures     rewrite every file
#
# Run by hand when a capture must change; the tests only read the files, and
# test_handmade_captures.py fails when a file differs from what this script makes (or
# when the folder holds a file it does not make). Everything is deterministic: the
# packets come from handmade.py, with fixed addresses, sequence numbers and times.
from __future__ import annotations

import struct
from collections.abc import Callable
from functools import partial
from pathlib import Path

import dns.message

from labctl.analysis.packet_decode import ACK, LINKTYPE_ETHERNET
from labctl.analysis.results import Endpoint
from labctl.analysis.tcp_reassembly import IDLE_SECONDS
from tests.analysis import handmade_dialogs, handmade_formats
from tests.analysis.handmade import (
    CLIENT4,
    CLIENT6,
    SERVER4,
    SERVER6,
    WRAPPED_LINKTYPES,
    Flow,
    ip_packet,
    pcap_bytes,
    udp_packet,
)
from tests.analysis.handmade_formats import record_header_corrupted

HANDMADE = Path(__file__).resolve().parents[1] / "data" / "pcaps" / "handmade"
LINKTYPE_NAMES = {1: "ethernet", 113: "sll", 276: "sll2", 0: "null", 108: "loop", 101: "raw",
                  228: "ipv4link"}
GREETING, HELO = b"220 mail.hamburger.edu ESMTP\r\n", b"HELO crepes.fr\r\n"
_QUERY = dns.message.make_query("hamburger.edu", "MX", id=0x1234)
DNS_QUERY, DNS_ANSWER = _QUERY.to_wire(), dns.message.make_response(_QUERY).to_wire()
RESOLVER, ASKER = Endpoint("127.77.2.53", 53), Endpoint("127.77.2.25", 41000)


def smtp_flow(client: Endpoint, server: Endpoint) -> Flow:
    """Greeting and HELO, closed by FIN both ways and the last ACK."""
    flow = Flow(client, server)
    flow.session(1.0, [(False, GREETING), (True, HELO)])
    flow.send(True, ACK, b"", 1.5)  # the last ACK
    return flow


def _greeted(closing: str) -> bytes:
    flow = Flow()
    flow.handshake(1.0)
    flow.data(False, b"220 hi\r\n", 2.0)
    if closing.startswith("rst"):
        flow.reset(closing == "rst-client", 3.0)
    elif closing == "half":
        flow.fin(True, 3.0)
    return pcap_bytes(flow.packets)


def _fin_both_ways() -> bytes:
    flow = Flow()
    flow.handshake(10.0, step=0.25)
    flow.data(False, b"220 hi\r\n", 11.0)
    flow.data(True, b"QUIT\r\n", 12.0)
    flow.fin(False, 13.0)
    flow.fin(True, 13.5)
    return pcap_bytes(flow.packets)


def _from_the_middle() -> bytes:
    flow = Flow()
    flow.session(1.0, [(True, b"MAIL FROM:<a@b>\r\n")])
    return pcap_bytes(flow.packets[3:])


def _reordered_duplicated_overlapping() -> bytes:
    """Three client segments sent third, second, first, second again, then an overlapping
    copy of the first with other bytes (the first copy wins)."""
    flow = Flow()
    flow.handshake(1.0)
    start = flow.seq[True]
    flow.data(True, b"HELO a\r\n", 2.0)
    flow.data(True, b"MAIL FROM:<x@y>\r\n", 2.1)
    flow.data(True, b"QUIT\r\n", 2.2)
    flow.fin(True, 3.0)
    flow.fin(False, 3.1)
    first, second, third = flow.packets[3:6]
    flow.send(True, ACK, b"HELO b\r\nMAIL", 2.3, seq=start)
    later_copy = flow.packets.pop()
    flow.packets[3:6] = [third, second, first, second, later_copy]
    return pcap_bytes(flow.packets)


def _held_segment_and_longer_copy() -> bytes:
    flow = Flow()
    flow.handshake(1.0)
    start = flow.seq[True]
    flow.data(True, b"0123", 2.0)
    flow.send(True, ACK, b"abcd", 2.1, seq=start + 4)  # held behind the hole at 0
    flow.send(True, ACK, b"ABCDEFGH", 2.2, seq=start + 4)  # only "EFGH" is new
    flow.packets[3:] = flow.packets[4:] + flow.packets[3:4]
    return pcap_bytes(flow.packets)


def _client_data(pieces: list[bytes], lose: int | None = None,
                 snaplen: int | None = None) -> bytes:
    flow = Flow()
    flow.handshake(1.0)
    for index, piece in enumerate(pieces):
        flow.data(True, piece, 2.0 + index / 10)
    if lose is not None:
        del flow.packets[3 + lose]
    return pcap_bytes(flow.packets, snaplen=snaplen)


def _wrapping_sequence_numbers() -> bytes:
    flow = Flow()  # the server's initial sequence number is 2**32 - 256
    flow.handshake(1.0)
    for index in range(4):
        flow.data(False, bytes([65 + index]) * 100, 2.0 + index)
    return pcap_bytes(flow.packets)


def _port_reused() -> bytes:
    flow = Flow()
    flow.session(1.0, [(False, b"220 first\r\n")])
    flow.send(True, ACK, b"", 1.4)  # the last ACK: no new connection
    flow.seq = {True: 777_000, False: 888_000}
    flow.handshake(5.0)  # the same ports again
    flow.data(False, b"220 second\r\n", 5.1)
    return pcap_bytes(flow.packets)


def _overlap_longer() -> bytes:
    flow = Flow()
    flow.handshake(1.0)
    start = flow.seq[True]
    flow.send(True, ACK, b"abc", 2.0, seq=start)
    flow.send(True, ACK, b"bcdefgh", 2.1, seq=start + 1)  # overlaps, and brings "defgh"
    return pcap_bytes(flow.packets)


def _reset_then_same_ports() -> bytes:
    flow = Flow()
    for start, seq in ((1.0, 1000), (11.0, 8777)):
        flow.seq = {True: seq, False: seq + 50_000}
        flow.handshake(start)
        flow.data(False, b"220 first\r\n", start + 1)
        flow.reset(True, start + 2)
    return pcap_bytes(flow.packets)


def _idle_then_another() -> bytes:
    idle = Flow()
    idle.handshake(1.0)
    idle.data(True, b"EHLO idle\r\n", 1.01)
    later = Flow(client=Endpoint(CLIENT4.ip, CLIENT4.port + 1))
    later.session(2.0 + IDLE_SECONDS, [(True, b"EHLO later\r\n")])
    return pcap_bytes(idle.packets + later.packets)


def _two_connections() -> bytes:
    flow = Flow()
    flow.session(1.0, [(False, b"220 first\r\n")])
    flow.seq = {True: 5000, False: 9000}
    flow.handshake(2.0)
    flow.data(False, b"220 second\r\n", 2.1)
    flow.data(True, b"QUIT\r\n", 2.2)
    return pcap_bytes(flow.packets)


def _ipv6_hop_by_hop() -> bytes:
    time, packet = smtp_flow(CLIENT6, SERVER6).packets[3]  # the greeting
    hop_by_hop = bytes([6, 0]) + bytes(6)  # next header TCP, 8 bytes long
    payload = hop_by_hop + packet[40:]
    extended = packet[:4] + struct.pack(">HB", len(payload), 0) + packet[7:40] + payload
    return pcap_bytes([(time, extended)])


def _noise() -> bytes:
    icmp = ip_packet(CLIENT4.ip, SERVER4.ip, 1, bytes(8))
    icmpv6 = ip_packet(CLIENT6.ip, SERVER6.ip, 58, bytes(8))
    arp = b"\xff" * 6 + b"\x02" * 6 + b"\x08\x06" + bytes(28)
    data = pcap_bytes([(0.5, icmp), (0.6, icmpv6), *smtp_flow(CLIENT4, SERVER4).packets])
    return data + struct.pack("<IIII", 2, 0, len(arp), len(arp)) + arp


def _ipv6_vlan_reordered() -> bytes:
    flow = smtp_flow(CLIENT6, SERVER6)
    flow.packets[3:5] = [flow.packets[4], flow.packets[3], flow.packets[4]]
    return pcap_bytes(flow.packets, vlans=(12,))


def _wrapped(linktype: int, client: Endpoint, server: Endpoint,
             vlans: tuple[int, ...] = ()) -> bytes:
    return pcap_bytes(smtp_flow(client, server).packets, linktype, vlans)


def _linktype_captures() -> dict[str, Callable[[], bytes]]:
    made: dict[str, Callable[[], bytes]] = {}
    for linktype in WRAPPED_LINKTYPES:
        for version, (client, server) in (("ipv4", (CLIENT4, SERVER4)),
                                          ("ipv6", (CLIENT6, SERVER6))):
            made[f"smtp_{LINKTYPE_NAMES[linktype]}_{version}.pcap"] = partial(
                _wrapped, linktype, client, server)
    for vlans in ((7,), (7, 300)):
        name = "_".join(str(vlan) for vlan in vlans)
        made[f"smtp_vlan_{name}_ipv6.pcap"] = partial(
            _wrapped, LINKTYPE_ETHERNET, CLIENT6, SERVER6, vlans)
    return made


MAKERS: dict[str, Callable[[], bytes]] = {
    "tcp_fin_both_ways.pcap": _fin_both_ways,
    **{f"tcp_close_{kind}.pcap": partial(_greeted, kind)
       for kind in ("rst-client", "rst-server", "half", "open")},
    "tcp_from_the_middle.pcap": _from_the_middle,
    "tcp_reordered_duplicated_overlapping.pcap": _reordered_duplicated_overlapping,
    "tcp_held_segment_longer_copy.pcap": _held_segment_and_longer_copy,
    "tcp_split_terminator.pcap": lambda: _client_data([b"body\r\n.", b"\r", b"\n"]),
    "tcp_lost_segment.pcap": lambda: _client_data([b"one\r\n", b"two\r\n", b"three\r\n"], 1),
    "tcp_snaplen_cut.pcap": lambda: _client_data([b"x" * 100, b"y" * 10],
                                                 snaplen=14 + 20 + 20 + 60),
    "tcp_sequence_wrap.pcap": _wrapping_sequence_numbers,
    "tcp_port_reused.pcap": _port_reused,
    "tcp_overlap_longer.pcap": _overlap_longer,
    "tcp_reset_then_same_ports.pcap": _reset_then_same_ports,
    "tcp_silent.pcap": lambda: _client_data([b"EHLO client\r\n"]),
    "tcp_idle_then_another.pcap": _idle_then_another,
    "two_connections.pcap": _two_connections,
    "two_connections_truncated.pcap": lambda: _two_connections()[:-3],
    "two_connections_corrupt_record_7.pcap": lambda: record_header_corrupted(
        _two_connections(), 7),
    **_linktype_captures(),
    "ipv6_hop_by_hop.pcap": _ipv6_hop_by_hop,
    "ipv6_vlan_reordered.pcap": _ipv6_vlan_reordered,
    "noise.pcap": _noise,
    "dns_udp.pcap": lambda: pcap_bytes([(1.0, udp_packet(ASKER, RESOLVER, DNS_QUERY)),
                                        (1.1, udp_packet(RESOLVER, ASKER, DNS_ANSWER)),
                                        (1.2, udp_packet(ASKER, RESOLVER, DNS_QUERY))]),
    "dns_answer_only.pcap": lambda: pcap_bytes([(1.0, udp_packet(RESOLVER, ASKER,
                                                                 DNS_ANSWER))]),
    **handmade_formats.MAKERS,
    **handmade_dialogs.MAKERS,
}


def captures() -> dict[str, bytes]:
    """Every hand-made capture: file name → its bytes."""
    return {name: make() for name, make in MAKERS.items()}


def main() -> None:
    HANDMADE.mkdir(parents=True, exist_ok=True)
    for name, data in captures().items():
        (HANDMADE / name).write_bytes(data)


if __name__ == "__main__":
    main()

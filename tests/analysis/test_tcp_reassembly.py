# tcp_reassembly: client choice, handshake/close flags, reordering, retransmissions,
# gaps, connection reuse; tshark's own reassembly of the real captures is the oracle.
# The hand-made captures are in tests/data/pcaps/handmade/ (see the README there).
from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from labctl.analysis.packet_decode import ACK, RST, SYN, TcpPacket, decode_packets
from labctl.analysis.pcap_reader import parse_capture, read_capture
from labctl.analysis.results import Endpoint
from labctl.analysis.tcp_reassembly import (
    HALF_OPEN_SECONDS,
    TcpConnections,
    TcpStream,
    reassemble,
)
from labctl.capture.packet_build import TcpStreamSynthesizer
from labctl.capture.pcap_writer import PcapWriter
from tests.analysis.handmade_captures import HANDMADE

CLIENT, SERVER = Endpoint("127.77.2.25", 40001), Endpoint("127.77.2.26", 2525)


def _streams(path: Path) -> list[TcpStream]:
    return reassemble(decode_packets(read_capture(path).packets).packets)


def _both(stream: TcpStream) -> tuple[bytes, bytes]:
    client = b"".join(s.data for s in stream.segments if s.from_client)
    server = b"".join(s.data for s in stream.segments if not s.from_client)
    return client, server


@pytest.mark.parametrize("name", ["smtp_real_lo.pcap", "smtp_real_sll.pcap",
                                  "smtp_real_sll2.pcap", "smtp_reordered.pcap",
                                  "internet_mixed.pcapng"])
def test_reassembly_agrees_with_tshark(
    pcaps: Path, name: str, tshark_streams: Callable[[Path], list[tuple[bytes, bytes]]]
) -> None:
    ours = [_both(stream) for stream in _streams(pcaps / name)]
    assert ours == tshark_streams(pcaps / name)  # every fixture's first packet is the client's


def test_real_capture_flags_and_alternating_segments(pcaps: Path) -> None:
    [stream] = _streams(pcaps / "smtp_real_lo.pcap")
    assert stream.client.ip == "127.77.2.25" and stream.server == Endpoint("127.77.2.26", 2525)
    assert stream.handshake and stream.closed and stream.client_fin and stream.server_fin
    assert not stream.reset and not stream.problems
    sides = [segment.from_client for segment in stream.segments]
    assert all(a != b for a, b in itertools.pairwise(sides))
    assert sides[0] is False  # the server greets first
    assert [s.timestamp for s in stream.segments] == sorted(s.timestamp for s in stream.segments)


def test_reordered_and_retransmitted_data_is_put_in_order(pcaps: Path) -> None:
    [stream] = _streams(pcaps / "smtp_reordered.pcap")
    [clean] = _streams(pcaps / "smtp_synth.pcap")
    assert _both(stream) == _both(clean)
    assert stream.retransmissions == 1 and not stream.problems


def test_without_syn_the_higher_port_is_the_client(pcaps: Path) -> None:
    [stream] = _streams(pcaps / "smtp_midstream.pcap")
    assert stream.client.port == 40001 and not stream.handshake
    assert "no SYN seen" in stream.problems[0]
    assert _both(stream)[0].startswith(b"MAIL FROM:")


def test_missing_segment_is_a_gap_note_and_later_bytes_are_kept() -> None:
    [stream] = _streams(HANDMADE / "tcp_lost_segment.pcap")  # "two\r\n" never captured
    assert _both(stream)[0] == b"one\r\nthree\r\n"
    assert stream.problems == ["client → server: 5 byte(s) missing at stream offset 5 "
                               "(never captured); later bytes kept after the gap"]


def test_overlapping_retransmission_is_trimmed() -> None:
    [stream] = _streams(HANDMADE / "tcp_overlap_longer.pcap")  # "abc", then "bcdefgh"
    assert _both(stream)[0] == b"abcdefgh"


def test_reset_closes_and_a_new_syn_starts_a_new_connection() -> None:
    first_stream, second_stream = _streams(HANDMADE / "tcp_reset_then_same_ports.pcap")
    assert first_stream.reset and first_stream.closed and first_stream.handshake
    assert _both(second_stream)[1] == b"220 first\r\n" and second_stream.start > 10


def _packets(events: Callable[[TcpStreamSynthesizer], None]) -> list[TcpPacket]:
    out = io.BytesIO()
    writer = PcapWriter(out)
    events(TcpStreamSynthesizer(writer, CLIENT, SERVER))
    return decode_packets(parse_capture(out.getvalue()).packets).packets


def _syn(number: int, port: int, timestamp: float) -> TcpPacket:
    return TcpPacket(number, timestamp, "10.66.0.1", port, SERVER.ip, SERVER.port, 1000, 0, SYN,
                     b"")


def test_a_syn_flood_is_handed_over_early_and_held_in_bounded_numbers() -> None:
    connections = TcpConnections(max_half_open=50)
    displaced = [connections.feed(_syn(n, 10_000 + n, n * 0.001)) for n in range(1, 201)]
    handed = [stream for stream in displaced if stream is not None]
    assert len(handed) == 150 and len(connections.half_open) == 50  # never more held
    assert [s.client.port for s in handed] == list(range(10_001, 10_151))  # oldest first
    assert "half-open" in handed[0].problems[-1] and not handed[0].handshake
    expired = connections.expire(0.2 + HALF_OPEN_SECONDS + 1)
    assert [s.client.port for s in expired] == list(range(10_151, 10_201))
    assert not connections.table and not connections.half_open


def test_a_completed_handshake_is_not_half_open_and_waits_the_idle_time() -> None:
    def events(synth: TcpStreamSynthesizer) -> None:
        synth.handshake(1.0)
        synth.data(False, b"220 hello\r\n", 2.0)

    connections = TcpConnections(max_half_open=1)
    for packet in _packets(events):
        assert connections.feed(packet) is None
    assert connections.feed(_syn(99, 50_000, 3.0)) is None  # one half-open: at the cap
    [flood] = connections.expire(3.0 + HALF_OPEN_SECONDS + 1)
    assert flood.client.port == 50_000 and "half-open" in flood.problems[-1]
    [stream] = connections.finish()  # the established one stays until IDLE_SECONDS
    assert stream.handshake and stream.client == CLIENT


def test_a_lone_reset_is_a_connection_seen_in_part_not_lost() -> None:
    rst = TcpPacket(1, 5.0, SERVER.ip, SERVER.port, CLIENT.ip, CLIENT.port, 7, 0, RST | ACK,
                    b"")
    connections = TcpConnections()
    stream = connections.feed(rst)
    assert stream is not None and stream.reset and not stream.handshake
    assert "no SYN seen" in stream.problems[0]
    assert connections.feed(rst) is None  # its retransmission is no second connection

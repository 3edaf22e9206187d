# TCP phases and the reassembly rules on the hand-made captures (tests/data/pcaps/
# handmade/, see the README there): handshake timing, the kinds of close, partial
# connections, reordering, duplicates, overlaps (first copy wins), port reuse,
# snap-length cuts, sequence wrap-around, and hand-over as soon as a connection is over.
from __future__ import annotations

from collections.abc import Iterator

import pytest

from labctl.analysis import pipeline
from labctl.analysis.packet_decode import TcpPacket, decode_packets
from labctl.analysis.pcap_reader import read_capture
from labctl.analysis.results import CLOSE_FIN, CLOSE_HALF, CLOSE_OPEN, CLOSE_RST
from labctl.analysis.tcp_reassembly import (
    IDLE_SECONDS,
    TcpConnections,
    TcpStream,
    iter_tcp_streams,
    reassemble,
)
from tests.analysis.handmade import CLIENT4, SERVER4
from tests.analysis.handmade_captures import HANDMADE


def _packets(name: str) -> list[TcpPacket]:
    return decode_packets(read_capture(HANDMADE / name).packets).packets


def _one(name: str) -> TcpStream:
    [stream] = reassemble(_packets(name))
    return stream


def _client_bytes(stream: TcpStream) -> bytes:
    return b"".join(s.data for s in stream.segments if s.from_client)


def test_handshake_transfer_and_close_by_fin_both_ways() -> None:
    phases = _one("tcp_fin_both_ways.pcap").phases
    assert (phases.syn, phases.syn_ack, phases.ack) == (10.0, 10.25, 10.5)
    assert phases.handshake_complete and phases.handshake_seconds == pytest.approx(0.5)
    assert (phases.first_data, phases.last_data) == (11.0, 12.0)
    assert (phases.close, phases.closed_by_client, phases.close_time) == (CLOSE_FIN, False, 13.5)
    assert phases.seen_from_start and not phases.partial and phases.gaps == ()


@pytest.mark.parametrize(("closing", "kind", "by_client"), [
    ("rst-client", CLOSE_RST, True), ("rst-server", CLOSE_RST, False),
    ("half", CLOSE_HALF, True), ("open", CLOSE_OPEN, None)])
def test_close_kinds(closing: str, kind: str, by_client: bool | None) -> None:
    stream = _one(f"tcp_close_{closing}.pcap")
    assert (stream.phases.close, stream.phases.closed_by_client) == (kind, by_client)
    assert stream.closed is (kind != CLOSE_OPEN) and stream.reset is (kind == CLOSE_RST)
    assert stream.phases.partial is (kind == CLOSE_OPEN)


def test_a_connection_seen_from_its_middle_is_partial() -> None:
    stream = _one("tcp_from_the_middle.pcap")
    assert not stream.phases.seen_from_start and stream.phases.partial
    assert stream.phases.syn is None and not stream.handshake
    assert _client_bytes(stream) == b"MAIL FROM:<a@b>\r\n"


def test_reordered_duplicated_and_overlapping_data_first_copy_wins() -> None:
    stream = _one("tcp_reordered_duplicated_overlapping.pcap")  # the overlap says "HELO b"
    assert _client_bytes(stream) == b"HELO a\r\nMAIL FROM:<x@y>\r\nQUIT\r\n"
    assert stream.retransmissions == 2  # the second copy of `second`, the later copy
    assert stream.phases.close == CLOSE_FIN and stream.phases.gaps == ()


def test_a_held_segment_keeps_its_bytes_against_a_longer_later_copy() -> None:
    # "abcd" comes before "0123" and is held; then "ABCDEFGH" from the same place
    assert _client_bytes(_one("tcp_held_segment_longer_copy.pcap")) == b"0123abcdEFGH"


def test_split_terminator_is_reassembled_whole() -> None:
    assert _client_bytes(_one("tcp_split_terminator.pcap")) == b"body\r\n.\r\n"


def test_lost_segment_is_a_gap_and_the_rest_is_kept() -> None:
    stream = _one("tcp_lost_segment.pcap")  # "two\r\n" was never captured
    assert _client_bytes(stream) == b"one\r\nthree\r\n"
    assert stream.phases.gaps == ("client 5 at 5",) and stream.phases.partial
    assert "5 byte(s) missing at stream offset 5 (never captured)" in stream.problems[0]


def test_packets_cut_by_the_snap_length_are_reported_as_gaps() -> None:
    stream = _one("tcp_snaplen_cut.pcap")  # 60 of the first segment's 100 payload bytes
    assert _client_bytes(stream) == b"x" * 60 + b"y" * 10
    assert stream.phases.gaps == ("client 40 at 60",)
    assert any("cut short by the capture's snap length" in p for p in stream.problems)


def test_sequence_numbers_wrap_around() -> None:
    stream = _one("tcp_sequence_wrap.pcap")  # the server's initial one is 2**32 - 256
    assert b"".join(s.data for s in stream.segments) == b"A" * 100 + b"B" * 100 + \
        b"C" * 100 + b"D" * 100
    assert stream.retransmissions == 0 and stream.phases.gaps == ()


def test_a_new_syn_on_a_used_port_pair_starts_a_new_connection() -> None:
    first, second = reassemble(_packets("tcp_port_reused.pcap"))
    assert first.segments[0].data == b"220 first\r\n" and first.phases.close == CLOSE_FIN
    assert second.segments[0].data == b"220 second\r\n" and second.phases.syn == 5.0
    assert second.phases.close == CLOSE_OPEN and first.client == second.client == CLIENT4
    assert second.server == SERVER4


def test_a_connection_is_handed_over_as_soon_as_it_is_over() -> None:
    packets = _packets("tcp_port_reused.pcap")
    read: list[int] = []

    def feed() -> Iterator[TcpPacket]:
        for packet in packets:
            read.append(packet.number)
            yield packet

    streams = iter_tcp_streams(feed())
    first = next(streams)
    assert first.segments[0].data == b"220 first\r\n"
    assert read[-1] < packets[-1].number  # the second connection is not read yet
    assert [s.segments[0].data for s in streams] == [b"220 second\r\n"]


def test_a_connection_silent_too_long_is_handed_over_still_open() -> None:
    connections = TcpConnections()
    for packet in _packets("tcp_silent.pcap"):  # its last packet at 2.0
        assert connections.feed(packet) is None
    assert connections.expire(2.0 + IDLE_SECONDS) == []  # not silent long enough yet
    [stream] = connections.expire(2.01 + IDLE_SECONDS)
    assert stream.phases.close == CLOSE_OPEN and stream.phases.partial
    assert _client_bytes(stream) == b"EHLO client\r\n"
    assert any("still open" in problem for problem in stream.problems)
    assert connections.table == {} and connections.finish() == []


def test_the_pipeline_hands_an_idle_connection_over_before_the_file_ends(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "EXPIRY_INTERVAL", 1)  # look after every TCP packet
    streams = list(pipeline.CaptureStreams(HANDMADE / "tcp_idle_then_another.pcap"))
    assert [_client_bytes(s) for s in streams] == [b"EHLO idle\r\n", b"EHLO later\r\n"]
    assert streams[0].phases.close == CLOSE_OPEN and streams[1].phases.close == CLOSE_FIN

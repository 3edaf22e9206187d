# TCP phases and the reassembly rules on hand-made connections: handshake timing, the
# kinds of close, partial connections, reordering, duplicates, overlaps (first copy
# wins), port reuse, snap-length cuts, sequence wrap-around, and hand-over as soon as
# a connection is over.
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labctl.analysis import pipeline
from labctl.analysis.packet_decode import ACK, TcpPacket, decode_packets
from labctl.analysis.pcap_reader import parse_capture
from labctl.analysis.results import CLOSE_FIN, CLOSE_HALF, CLOSE_OPEN, CLOSE_RST, Endpoint
from labctl.analysis.tcp_reassembly import (
    IDLE_SECONDS,
    TcpConnections,
    TcpStream,
    iter_tcp_streams,
    reassemble,
)
from tests.analysis.handmade import CLIENT4, SERVER4, Flow, pcap_bytes


def _packets(flow: Flow, snaplen: int | None = None) -> list[TcpPacket]:
    return decode_packets(parse_capture(pcap_bytes(flow.packets, snaplen=snaplen)).packets).packets


def _one(flow: Flow, snaplen: int | None = None) -> TcpStream:
    [stream] = reassemble(_packets(flow, snaplen))
    return stream


def _client_bytes(stream: TcpStream) -> bytes:
    return b"".join(s.data for s in stream.segments if s.from_client)


def test_handshake_transfer_and_close_by_fin_both_ways() -> None:
    flow = Flow()
    flow.handshake(10.0, step=0.25)
    flow.data(False, b"220 hi\r\n", 11.0)
    flow.data(True, b"QUIT\r\n", 12.0)
    flow.fin(False, 13.0)
    flow.fin(True, 13.5)
    phases = _one(flow).phases
    assert (phases.syn, phases.syn_ack, phases.ack) == (10.0, 10.25, 10.5)
    assert phases.handshake_complete and phases.handshake_seconds == pytest.approx(0.5)
    assert (phases.first_data, phases.last_data) == (11.0, 12.0)
    assert (phases.close, phases.closed_by_client, phases.close_time) == (CLOSE_FIN, False, 13.5)
    assert phases.seen_from_start and not phases.partial and phases.gaps == ()


@pytest.mark.parametrize(("closing", "kind", "by_client"), [
    ("rst-client", CLOSE_RST, True), ("rst-server", CLOSE_RST, False),
    ("half", CLOSE_HALF, True), ("open", CLOSE_OPEN, None)])
def test_close_kinds(closing: str, kind: str, by_client: bool | None) -> None:
    flow = Flow()
    flow.handshake(1.0)
    flow.data(False, b"220 hi\r\n", 2.0)
    if closing.startswith("rst"):
        flow.reset(closing == "rst-client", 3.0)
    elif closing == "half":
        flow.fin(True, 3.0)
    stream = _one(flow)
    assert (stream.phases.close, stream.phases.closed_by_client) == (kind, by_client)
    assert stream.closed is (kind != CLOSE_OPEN) and stream.reset is (kind == CLOSE_RST)
    assert stream.phases.partial is (kind == CLOSE_OPEN)


def test_a_connection_seen_from_its_middle_is_partial() -> None:
    flow = Flow()
    flow.session(1.0, [(True, b"MAIL FROM:<a@b>\r\n")])
    flow.packets = flow.packets[3:]
    stream = _one(flow)
    assert not stream.phases.seen_from_start and stream.phases.partial
    assert stream.phases.syn is None and not stream.handshake
    assert _client_bytes(stream) == b"MAIL FROM:<a@b>\r\n"


def test_reordered_duplicated_and_overlapping_data_first_copy_wins() -> None:
    flow = Flow()
    flow.handshake(1.0)
    start = flow.seq[True]
    flow.data(True, b"HELO a\r\n", 2.0)
    flow.data(True, b"MAIL FROM:<x@y>\r\n", 2.1)
    flow.data(True, b"QUIT\r\n", 2.2)
    flow.fin(True, 3.0)
    flow.fin(False, 3.1)
    first, second, third = flow.packets[3:6]
    flow.send(True, ACK, b"HELO b\r\nMAIL", 2.3, seq=start)  # overlap, other bytes: loses
    later_copy = flow.packets.pop()
    flow.packets[3:6] = [third, second, first, second, later_copy]
    stream = _one(flow)
    assert _client_bytes(stream) == b"HELO a\r\nMAIL FROM:<x@y>\r\nQUIT\r\n"
    assert stream.retransmissions == 2  # the second copy of `second`, the later copy
    assert stream.phases.close == CLOSE_FIN and stream.phases.gaps == ()


def test_a_held_segment_keeps_its_bytes_against_a_longer_later_copy() -> None:
    flow = Flow()
    flow.handshake(1.0)
    start = flow.seq[True]
    flow.data(True, b"0123", 2.0)
    flow.send(True, ACK, b"abcd", 2.1, seq=start + 4)  # held behind the hole at 0
    flow.send(True, ACK, b"ABCDEFGH", 2.2, seq=start + 4)  # only "EFGH" is new
    flow.packets[3:] = flow.packets[4:] + flow.packets[3:4]
    assert _client_bytes(_one(flow)) == b"0123abcdEFGH"


def test_split_terminator_is_reassembled_whole() -> None:
    flow = Flow()
    flow.handshake(1.0)
    for time, piece in enumerate([b"body\r\n.", b"\r", b"\n"]):
        flow.data(True, piece, 2.0 + time)
    assert _client_bytes(_one(flow)) == b"body\r\n.\r\n"


def test_lost_segment_is_a_gap_and_the_rest_is_kept() -> None:
    flow = Flow()
    flow.handshake(1.0)
    flow.data(True, b"one\r\n", 2.0)
    flow.data(True, b"two\r\n", 2.1)
    flow.data(True, b"three\r\n", 2.2)
    del flow.packets[4]
    stream = _one(flow)
    assert _client_bytes(stream) == b"one\r\nthree\r\n"
    assert stream.phases.gaps == ("client 5 at 5",) and stream.phases.partial
    assert "5 byte(s) missing at stream offset 5 (never captured)" in stream.problems[0]


def test_packets_cut_by_the_snap_length_are_reported_as_gaps() -> None:
    flow = Flow()
    flow.handshake(1.0)
    flow.data(True, b"x" * 100, 2.0)
    flow.data(True, b"y" * 10, 2.1)
    stream = _one(flow, snaplen=14 + 20 + 20 + 60)  # 60 of the 100 payload bytes
    assert _client_bytes(stream) == b"x" * 60 + b"y" * 10
    assert stream.phases.gaps == ("client 40 at 60",)
    assert any("cut short by the capture's snap length" in p for p in stream.problems)


def test_sequence_numbers_wrap_around() -> None:
    flow = Flow()  # the server's initial sequence number is 2**32 - 256
    flow.handshake(1.0)
    for index in range(4):
        flow.data(False, bytes([65 + index]) * 100, 2.0 + index)
    stream = _one(flow)
    assert b"".join(s.data for s in stream.segments) == b"A" * 100 + b"B" * 100 + \
        b"C" * 100 + b"D" * 100
    assert stream.retransmissions == 0 and stream.phases.gaps == ()


def _closed_twice() -> Flow:
    flow = Flow()
    flow.session(1.0, [(False, b"220 first\r\n")])
    flow.send(True, ACK, b"", 1.4)  # the last ACK: no new connection
    flow.seq = {True: 777_000, False: 888_000}
    flow.handshake(5.0)  # the same ports again
    flow.data(False, b"220 second\r\n", 5.1)
    return flow


def test_a_new_syn_on_a_used_port_pair_starts_a_new_connection() -> None:
    first, second = reassemble(_packets(_closed_twice()))
    assert first.segments[0].data == b"220 first\r\n" and first.phases.close == CLOSE_FIN
    assert second.segments[0].data == b"220 second\r\n" and second.phases.syn == 5.0
    assert second.phases.close == CLOSE_OPEN and first.client == second.client == CLIENT4
    assert second.server == SERVER4


def test_a_connection_is_handed_over_as_soon_as_it_is_over() -> None:
    packets = _packets(_closed_twice())
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
    flow = Flow()
    flow.handshake(1.0)
    flow.data(True, b"EHLO client\r\n", 1.01)
    connections = TcpConnections()
    for packet in _packets(flow):
        assert connections.feed(packet) is None
    assert connections.expire(1.01 + IDLE_SECONDS) == []  # not silent long enough yet
    [stream] = connections.expire(1.02 + IDLE_SECONDS)
    assert stream.phases.close == CLOSE_OPEN and stream.phases.partial
    assert _client_bytes(stream) == b"EHLO client\r\n"
    assert any("still open" in problem for problem in stream.problems)
    assert connections.table == {} and connections.finish() == []


def test_the_pipeline_hands_an_idle_connection_over_before_the_file_ends(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "EXPIRY_INTERVAL", 1)  # look after every TCP packet
    idle = Flow()
    idle.handshake(1.0)
    idle.data(True, b"EHLO idle\r\n", 1.01)
    later = Flow(client=Endpoint(CLIENT4.ip, CLIENT4.port + 1))
    later.session(2.0 + IDLE_SECONDS, [(True, b"EHLO later\r\n")])
    path = tmp_path / "idle.pcap"
    path.write_bytes(pcap_bytes(idle.packets + later.packets))
    streams = list(pipeline.CaptureStreams(path))
    assert [_client_bytes(s) for s in streams] == [b"EHLO idle\r\n", b"EHLO later\r\n"]
    assert streams[0].phases.close == CLOSE_OPEN and streams[1].phases.close == CLOSE_FIN

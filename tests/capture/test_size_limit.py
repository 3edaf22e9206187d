# The size limit: CappedPcapStream (tcpdump's pipe) and the pcap writers (the relays)
# keep whole packets up to the limit, count the rest, and leave a file the reader takes.
from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from labctl.analysis.pcap_reader import parse_capture, read_capture
from labctl.analysis.results import Endpoint
from labctl.capture.packet_build import synthesize_connection
from labctl.capture.pcap_writer import PcapngWriter, PcapWriter
from labctl.capture.recorder import CaptureError, limit_note
from labctl.capture.size_limit import FILE_HEADER, CappedPcapStream

CLIENT, SERVER = Endpoint("127.77.2.25", 40001), Endpoint("127.77.2.26", 2525)
LINES = [(i % 2 == 0, b"line %04d of the dialog\r\n" % i, float(i)) for i in range(200)]


def _pcap_bytes(big_endian: bool = False) -> bytes:
    stream = io.BytesIO()
    writer = PcapWriter(stream, big_endian=big_endian)
    synthesize_connection(writer, CLIENT, SERVER, LINES)
    writer.close()
    return stream.getvalue()


def _fed_in_pieces(capped: CappedPcapStream, data: bytes, seed: int) -> bytes:
    pieces, position, chance = [], 0, random.Random(seed)
    while position < len(data):
        size = chance.randint(1, 700)
        pieces.append(capped.feed(data[position : position + size]))
        position += size
    return b"".join(pieces)


@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_stream_is_cut_at_a_packet_boundary_under_the_limit(big_endian: bool, seed: int) -> None:
    whole = parse_capture(_pcap_bytes(big_endian))
    limit = 9000 + seed * 1234
    capped = CappedPcapStream(limit)
    kept = _fed_in_pieces(capped, _pcap_bytes(big_endian), seed)
    assert len(kept) <= limit and capped.bytes_kept == len(kept)
    read_back = parse_capture(kept)
    assert not read_back.problems
    first = whole.packets[: len(read_back.packets)]
    assert [p.data for p in read_back.packets] == [p.data for p in first]
    assert capped.packets_kept == len(read_back.packets)
    assert capped.packets_kept + capped.packets_over_limit == len(whole.packets)
    assert capped.full and capped.leftover == 0


def test_stream_under_the_limit_passes_unchanged() -> None:
    data = _pcap_bytes()
    capped = CappedPcapStream(len(data))
    assert _fed_in_pieces(capped, data, 7) == data
    assert not capped.full


def test_unfinished_last_packet_is_reported_as_leftover() -> None:
    capped = CappedPcapStream(10**6)
    data = _pcap_bytes()
    kept = capped.feed(data[:-5])
    assert capped.leftover > 0
    assert len(parse_capture(kept).packets) == len(parse_capture(data).packets) - 1


def test_marker_packets_are_counted_and_left_out() -> None:
    marked = [(i % 2 == 0, b"end of capture 42" if i in (3, 9) else body, t)
              for i, (_, body, t) in enumerate(LINES[:12])]
    stream = io.BytesIO()
    with PcapWriter(stream) as writer:
        synthesize_connection(writer, CLIENT, SERVER, marked)
        data = stream.getvalue()
    capped = CappedPcapStream(10**6, marker=b"end of capture 42")
    kept = parse_capture(capped.feed(data))
    assert capped.markers_seen == 2
    assert len(kept.packets) == len(parse_capture(data).packets) - 2
    assert not any(b"end of capture" in p.data for p in kept.packets)


def test_a_stream_that_is_no_pcap_is_refused() -> None:
    with pytest.raises(CaptureError, match="no pcap"):
        CappedPcapStream(10**6).feed(b"tcpdump: something else entirely")


def test_a_limit_below_the_file_header_is_refused() -> None:
    with pytest.raises(CaptureError, match="below a pcap header"):
        CappedPcapStream(FILE_HEADER - 1)


@pytest.mark.parametrize("writer_type", [PcapWriter, PcapngWriter])
def test_writer_stops_at_its_limit_and_counts_the_rest(
    tmp_path: Path, writer_type: type[PcapWriter] | type[PcapngWriter]
) -> None:
    unlimited, limited = tmp_path / "all.cap", tmp_path / "capped.cap"
    with writer_type(unlimited) as writer:
        synthesize_connection(writer, CLIENT, SERVER, LINES)
    total = writer.packets_written
    with writer_type(limited, limit=6000) as capped:
        synthesize_connection(capped, CLIENT, SERVER, LINES)
    assert limited.stat().st_size <= 6000 and capped.bytes_written == limited.stat().st_size
    read_back = read_capture(limited)
    assert not read_back.problems
    assert len(read_back.packets) == capped.packets_written > 0
    assert capped.packets_written + capped.packets_over_limit == total
    first = [p.data for p in read_capture(unlimited).packets[: capped.packets_written]]
    assert [p.data for p in read_back.packets] == first


def test_limit_note_names_network_limit_and_lost_packets() -> None:
    assert limit_note("internet", 100_000_000, 12) == (
        "capture of internet stopped at the 100 MB limit; 12 later packet(s) not recorded")

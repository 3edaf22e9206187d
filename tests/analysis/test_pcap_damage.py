# Damaged captures through the streaming pipeline: what is readable is analysed, the
# damage is named (what and where) and the result marked incomplete; a file that is
# no capture at all is refused with PcapError before anything is read.
from __future__ import annotations

import struct
from pathlib import Path

import pytest

from labctl.analysis import PcapError, analyze_pcap_file, iter_conversations
from labctl.analysis.pipeline import CaptureStreams
from labctl.model import Addressing
from tests.analysis.handmade import Flow, pcap_bytes


def _two_connections() -> bytes:
    flow = Flow()
    flow.session(1.0, [(False, b"220 first\r\n")])
    flow.seq = {True: 5000, False: 9000}
    flow.handshake(2.0)
    flow.data(False, b"220 second\r\n", 2.1)
    flow.data(True, b"QUIT\r\n", 2.2)
    return pcap_bytes(flow.packets)


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "internet.pcap"
    path.write_bytes(data)
    return path


def test_a_file_cut_in_its_last_packet_is_analysed_and_marked_incomplete(
    tmp_path: Path, local: Addressing
) -> None:
    analysis = analyze_pcap_file(_write(tmp_path, _two_connections()[:-3]), "internet", local)
    assert analysis.incomplete
    assert analysis.problems[0].startswith("packet 11 at offset")
    assert "truncated" in analysis.problems[0]
    assert [c.segments[0].data for c in analysis.conversations] == [b"220 first\r\n",
                                                                    b"220 second\r\n"]


def test_a_corrupt_record_stops_reading_there_and_keeps_what_came_before(
    tmp_path: Path, local: Addressing
) -> None:
    data = bytearray(_two_connections())
    offset = 24
    for _ in range(6):  # to the seventh record: the second connection's SYN
        offset += 16 + struct.unpack_from("<I", data, offset + 8)[0]
    data[offset + 8 : offset + 12] = struct.pack("<I", 0x7FFFFFFF)
    conversations = iter_conversations(_write(tmp_path, bytes(data)), "internet", local)
    found = list(conversations)
    assert conversations.incomplete
    assert f"packet 7 at offset {offset}: corrupt record header" in conversations.problems[0]
    assert "incomplete result" in conversations.problems[0]
    assert [c.segments[0].data for c in found] == [b"220 first\r\n"]


@pytest.mark.parametrize(("data", "message"), [
    (b"", "only 0 bytes"), (b"From alice@crepes.fr\n\nhello\n", "unknown magic"),
    (b"\xd4\xc3\xb2\xa1\x02\x00", "global header truncated")])
def test_a_file_that_is_no_capture_is_refused_at_once(
    tmp_path: Path, local: Addressing, data: bytes, message: str
) -> None:
    with pytest.raises(PcapError, match=rf"internet\.pcap: .*{message}"):
        iter_conversations(_write(tmp_path, data), "internet", local)


def test_a_missing_file_is_refused_naming_it(tmp_path: Path, local: Addressing) -> None:
    with pytest.raises(PcapError, match=r"cannot read capture .*nothing\.pcap"):
        iter_conversations(tmp_path / "nothing.pcap", "internet", local)


def test_a_link_layer_that_cannot_be_read_makes_the_result_incomplete(tmp_path: Path) -> None:
    path = tmp_path / "odd.pcap"
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 147)
                     + struct.pack("<IIII", 1, 0, 4, 4) + b"abcd")
    streams = CaptureStreams(path)
    assert list(streams) == [] and streams.incomplete
    assert streams.problems == ["1 packet(s) skipped: unsupported link type 147"]

# Damaged captures through the streaming pipeline: what is readable is analysed, the
# damage is named (what and where) and the result marked incomplete; a file that is
# no capture at all is refused with PcapError before anything is read. The damaged
# captures are hand-made (tests/data/pcaps/handmade/, see the README there).
from __future__ import annotations

from pathlib import Path

import pytest

from labctl.analysis import PcapError, analyze_pcap_file, iter_conversations
from labctl.analysis.pipeline import CaptureStreams
from labctl.model import Addressing
from tests.analysis.handmade_captures import HANDMADE
from tests.analysis.handmade_formats import record_offset


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "internet.pcap"
    path.write_bytes(data)
    return path


def test_a_file_cut_in_its_last_packet_is_analysed_and_marked_incomplete(
    tmp_path: Path, local: Addressing
) -> None:
    truncated = HANDMADE / "two_connections_truncated.pcap"  # cut 3 bytes short
    analysis = analyze_pcap_file(truncated, "internet", local)
    assert analysis.incomplete
    assert analysis.problems[0].startswith("packet 11 at offset")
    assert "truncated" in analysis.problems[0]
    assert [c.segments[0].data for c in analysis.conversations] == [b"220 first\r\n",
                                                                    b"220 second\r\n"]


def test_a_corrupt_record_stops_reading_there_and_keeps_what_came_before(
    local: Addressing
) -> None:
    # the seventh record (the second connection's SYN) has an impossible length
    offset = record_offset((HANDMADE / "two_connections.pcap").read_bytes(), 7)
    corrupt = HANDMADE / "two_connections_corrupt_record_7.pcap"
    conversations = iter_conversations(corrupt, "internet", local)
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


def test_a_link_layer_that_cannot_be_read_makes_the_result_incomplete() -> None:
    streams = CaptureStreams(HANDMADE / "unknown_link_type.pcap")
    assert list(streams) == [] and streams.incomplete
    assert streams.problems == ["1 packet(s) skipped: unsupported link type 147"]

# pcap_reader and packet_decode: every file format and link type the lab meets, and
# damaged files (clear PcapError with offsets, or a note for a truncated last packet).
from __future__ import annotations

import contextlib
import io
import random
import struct
from pathlib import Path

import pytest

from labctl.analysis.packet_decode import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_RAW,
    decode_packets,
)
from labctl.analysis.pcap_reader import CaptureReader, PcapError, parse_capture, read_capture
from labctl.capture.pcap_writer import PcapngWriter, PcapWriter
from tests.analysis.handmade_captures import HANDMADE


def _tcp_payloads(data: bytes) -> list[tuple[str, int, bytes]]:
    decoded = decode_packets(parse_capture(data).packets)
    return [(p.src, p.sport, p.payload) for p in decoded.packets if p.payload]


@pytest.mark.parametrize(
    ("name", "linktype"),
    [("smtp_real_lo.pcap", LINKTYPE_ETHERNET), ("smtp_real_sll.pcap", LINKTYPE_LINUX_SLL),
     ("smtp_real_sll2.pcap", LINKTYPE_LINUX_SLL2)],
)
def test_real_tcpdump_captures_decode_to_the_same_tcp_payloads(
    pcaps: Path, name: str, linktype: int
) -> None:
    capture = read_capture(pcaps / name)
    assert capture.format == "pcap" and not capture.problems
    assert {p.linktype for p in capture.packets} == {linktype}
    reference = _tcp_payloads((pcaps / "smtp_real_lo.pcap").read_bytes())
    assert _tcp_payloads((pcaps / name).read_bytes()) == reference
    assert reference[0][2].startswith(b"220 mail.hamburger.edu")


def _rewrite(source: bytes, make_writer: type[PcapWriter] | type[PcapngWriter],
             strip_ethernet: bool = False, **options: object) -> bytes:
    out = io.BytesIO()
    writer = make_writer(out, **options)  # type: ignore[arg-type]
    for packet in parse_capture(source).packets:
        writer.write_packet(packet.timestamp, packet.data[14:] if strip_ethernet else packet.data)
    return out.getvalue()


@pytest.mark.parametrize(
    "options",
    [
        {"big_endian": True},
        {"nanoseconds": True},
        {"big_endian": True, "nanoseconds": True},
        {"linktype": LINKTYPE_RAW, "strip": True},
        {"linktype": LINKTYPE_IPV4, "strip": True},
    ],
)
def test_classic_pcap_variants_read_alike(pcaps: Path, options: dict[str, object]) -> None:
    source = (pcaps / "smtp_real_lo.pcap").read_bytes()
    strip = bool(options.pop("strip", False))
    variant = _rewrite(source, PcapWriter, strip_ethernet=strip, **options)
    original, rewritten = parse_capture(source), parse_capture(variant)
    assert [p.timestamp for p in rewritten.packets] == pytest.approx(
        [p.timestamp for p in original.packets], abs=1e-6)
    assert _tcp_payloads(variant) == _tcp_payloads(source)


def test_pcapng_keeps_comments_and_packets(pcaps: Path) -> None:
    source = (pcaps / "smtp_real_lo.pcap").read_bytes()
    out = io.BytesIO()
    writer = PcapngWriter(out, comment="hello section")
    for packet in parse_capture(source).packets:
        writer.write_packet(packet.timestamp, packet.data, "first" if packet.number == 1 else None)
    capture = parse_capture(out.getvalue())
    assert capture.format == "pcapng"
    assert capture.comments == ["hello section", "packet 1: first"]
    assert _tcp_payloads(out.getvalue()) == _tcp_payloads(source)
    assert capture.packets[0].timestamp == pytest.approx(
        parse_capture(source).packets[0].timestamp, abs=1e-6)


def test_pcapng_simple_packet_block_and_big_endian_section() -> None:
    capture = read_capture(HANDMADE / "pcapng_big_endian_simple_packet.pcapng")
    assert capture.format == "pcapng"
    assert len(capture.packets) == 1 and capture.packets[0].data == bytes(14 + 20)


def test_truncated_last_packet_is_a_note_and_the_rest_is_kept(pcaps: Path) -> None:
    whole = (pcaps / "smtp_real_lo.pcap").read_bytes()
    capture = parse_capture(whole[:-10])
    assert len(capture.packets) == len(parse_capture(whole).packets)
    assert len(capture.problems) == 1
    assert "truncated" in capture.problems[0] and "offset" in capture.problems[0]


def test_truncated_pcapng_last_block_is_a_note(pcaps: Path) -> None:
    data = (pcaps / "pop3_port25.pcapng").read_bytes()
    capture = parse_capture(data[:-7])
    assert capture.packets and "truncated" in capture.problems[0]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "only 0 bytes"),
        (b"GET / HTTP/1.1\r\n\r\n", "unknown magic"),
        (struct.pack("<I", 0xA1B2C3D4) + bytes(8), "global header truncated"),
        (struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
         + struct.pack("<IIII", 0, 0, 0x7FFFFFFF, 10), "packet 1 at offset 24"),
        (struct.pack("<III", 0x0A0D0D0A, 13, 0x1A2B3C4D), "corrupt block length 13"),
        (struct.pack("<III", 0x0A0D0D0A, 28, 0xDEADBEEF) + bytes(16), "bad byte-order magic"),
    ],
)
def test_bad_files_raise_pcap_error_saying_where(data: bytes, message: str) -> None:
    with pytest.raises(PcapError, match=message):
        parse_capture(data)


def test_read_capture_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"nonsense!")
    with pytest.raises(PcapError, match=r"bad\.pcap"):
        read_capture(bad)
    with pytest.raises(PcapError, match="cannot read"):
        read_capture(tmp_path / "missing.pcap")


def test_everything_but_tcp_and_udp_is_counted(pcaps: Path) -> None:
    decoded = decode_packets(read_capture(pcaps / "internet_mixed.pcapng").packets)
    assert decoded.skipped == {"ARP": 1, "truncated IPv6 extension header": 1}
    assert "1 packet(s) skipped: ARP" in decoded.notes()
    [datagram] = decoded.datagrams
    assert (datagram.src, datagram.dst, datagram.dport) == ("127.77.2.25", "127.77.2.53", 0)


def test_random_garbage_never_crashes() -> None:
    generator = random.Random(7)
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for _ in range(200):
        body = bytes(generator.randrange(256) for _ in range(generator.randrange(1, 120)))
        with contextlib.suppress(PcapError):
            decode_packets(parse_capture(header + body).packets)


def test_pcapng_with_two_interfaces_of_different_link_types_and_resolutions() -> None:
    capture = read_capture(HANDMADE / "pcapng_two_interfaces.pcapng")
    assert [(p.linktype, p.timestamp) for p in capture.packets] == [(LINKTYPE_RAW, 1.5),
                                                                    (LINKTYPE_ETHERNET, 2.0)]
    assert capture.comments == ["section"]
    decoded = decode_packets(capture.packets)
    assert [(p.src, p.dport) for p in decoded.packets] == [("1.2.3.4", 42000)] * 2


class _CountingFile(io.BytesIO):
    """A file that remembers how far it has been read."""

    furthest = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.furthest = self.tell()
        return data


def test_the_reader_reads_the_file_as_it_goes_not_all_at_once() -> None:
    out = io.BytesIO()
    writer = PcapWriter(out)
    for number in range(300):
        writer.write_packet(float(number), bytes(14) + bytes([number % 256]) * 20_000)
    source = _CountingFile(out.getvalue())
    records = CaptureReader(source).views()
    next(records)
    assert source.furthest < len(source.getvalue()) // 3
    assert sum(1 for _ in records) == 299

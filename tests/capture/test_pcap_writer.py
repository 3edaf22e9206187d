# pcap_writer and packet_build: what we write is what tshark reads (valid checksums,
# consistent seq/ack, comments), and the committed synthesized fixtures are reproducible.
from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from labctl.analysis.results import Endpoint
from labctl.capture.packet_build import synthesize_connection
from labctl.capture.pcap_writer import PcapngWriter, PcapWriter
from tests.peers.tools import require_tool

CLIENT, SERVER = Endpoint("127.77.2.25", 40001), Endpoint("127.77.2.26", 2525)
BIG = b"".join(b"line %05d of a long message\r\n" % i for i in range(300))  # > several MSS


def _tshark(*args: str) -> str:
    require_tool("tshark")
    return subprocess.run(["tshark", *args], capture_output=True, text=True, check=True).stdout


def _write(path: Path, writer_type: type[PcapWriter] | type[PcapngWriter]) -> None:
    with writer_type(path) as writer:
        synthesize_connection(writer, CLIENT, SERVER, [
            (False, b"220 hi\r\n", 1.0), (True, BIG, 2.0), (False, b"250 ok\r\n", 3.0)])


@pytest.mark.parametrize("writer_type", [PcapWriter, PcapngWriter])
def test_tshark_accepts_synthesized_tcp(
    tmp_path: Path, writer_type: type[PcapWriter] | type[PcapngWriter],
    tshark_streams: Callable[[Path], list[tuple[bytes, bytes]]],
) -> None:
    path = tmp_path / "synth.cap"
    _write(path, writer_type)
    checks = _tshark("-r", str(path), "-o", "tcp.check_checksum:TRUE", "-o",
                     "ip.check_checksum:TRUE", "-T", "fields", "-e", "ip.checksum.status",
                     "-e", "tcp.checksum.status", "-e", "_ws.expert.message")
    assert checks.split().count("1") == 2 * len(checks.splitlines())  # 1: "Good"
    flags = _tshark("-r", str(path), "-Y", "tcp.analysis.flags")
    assert flags.strip() == ""  # no lost segment, bad ack or retransmission in tshark's eyes
    assert tshark_streams(path) == [(BIG, b"220 hi\r\n250 ok\r\n")]


def test_pcapng_section_comment_is_visible_to_capinfos(tmp_path: Path) -> None:
    require_tool("capinfos")
    path = tmp_path / "c.pcapng"
    with PcapngWriter(path, comment="made by maillab") as writer:
        writer.write_packet(1.5, bytes(60), comment="a packet")
    output = subprocess.run(["capinfos", "-k", str(path)], capture_output=True, text=True,
                            check=True).stdout
    assert "made by maillab" in output
    assert "a packet" in _tshark("-r", str(path), "-T", "fields", "-e", "frame.comment")


def test_committed_synthesized_fixtures_are_reproducible(
    pcaps: Path, fixture_maker: ModuleType
) -> None:
    for name, data in fixture_maker.synthesized_fixtures().items():
        assert (pcaps / name).read_bytes() == data, f"{name}: rerun make_fixtures.py"

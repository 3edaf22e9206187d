# Any bytes given as a capture file either parse or raise PcapError with a message;
# a real capture cut or corrupted anywhere never crashes the analyzer.
from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from labctl.analysis import analyze_pcap, iter_conversations
from labctl.analysis.pcap_reader import PcapError, parse_capture
from labctl.model import addressing
from tests.conftest import DATA

REAL = (DATA / "pcaps" / "smtp_real_lo.pcap").read_bytes()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_parse_or_raise_pcap_error(data: bytes) -> None:
    try:
        parse_capture(data)
    except PcapError as error:
        assert str(error)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(REAL)), st.integers(0, len(REAL) - 1), st.integers(0, 255))
def test_cut_or_corrupted_real_capture_is_analysed_or_refused(
    cut: int, where: int, value: int
) -> None:
    damaged = bytearray(REAL[:cut])
    if where < len(damaged):
        damaged[where] = value
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.pcap"
        path.write_bytes(bytes(damaged))
        try:
            analyze_pcap(path, "internet", addressing("local"))
        except PcapError as error:
            assert "damaged.pcap" in str(error)


NG = (DATA / "pcaps" / "internet_mixed.pcapng").read_bytes()  # pcapng, UDP, ARP, IPv6


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(NG)), st.integers(0, len(NG) - 1), st.integers(0, 255))
def test_cut_or_corrupted_pcapng_is_streamed_or_refused(cut: int, where: int,
                                                        value: int) -> None:
    damaged = bytearray(NG[:cut])
    if where < len(damaged):
        damaged[where] = value
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.pcapng"
        path.write_bytes(bytes(damaged))
        try:
            conversations = iter_conversations(path, "internet", addressing("local"))
        except PcapError as error:
            assert "damaged.pcapng" in str(error)
            return
        found = list(conversations)
        if conversations.incomplete:
            assert conversations.problems
        assert all(c.transport in ("tcp", "udp") for c in found)

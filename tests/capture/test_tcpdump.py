# tcpdump capture on loopback (TEST_PLAN's networks only): every SMTP session sent at
# the lab's rate is in the pcap with nothing missing, a burst far above it loses nothing
# without a drop note, the size limit cuts the file on a packet boundary with a note,
# and tcpdump's exit statistics become drop notes.
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from labctl.analysis import analyze_pcap_file
from labctl.analysis.packet_decode import ACK, FIN, SYN, decode_packets
from labctl.analysis.pcap_reader import read_capture
from labctl.capture.plan import CaptureTarget, capture_plan
from labctl.capture.recorder import NetworkRecording
from labctl.capture.tcpdump import TcpdumpCapture, dropped_packets, send_marker
from labctl.model import INTERNET, SMTP
from tests.capture.conftest import tcpdump_only
from tests.capture.smtp_peers import SmtpReceiver, send_messages
from tests.conftest import TEST_PLAN

SENDER_MTA = TEST_PLAN.address("sender-mta", INTERNET)
RECEIVER_MTA = TEST_PLAN.address("receiver-mta", INTERNET)
LAB_RATE = 20  # SMTP sessions back to back: more than a scenario sends
BURST = 300  # far more, as fast as one client can


@dataclass
class Receiver:
    address: tuple[str, int]
    smtp: SmtpReceiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """An SMTP server on the receiver's internet address (inside the captured network)."""
    smtp = SmtpReceiver()
    server = await asyncio.start_server(smtp.session, RECEIVER_MTA, 0)
    yield Receiver((RECEIVER_MTA, server.sockets[0].getsockname()[1]), smtp)
    server.close()
    await server.wait_closed()


async def _capture(directory: Path, limit: int, receiver: Receiver,
                   messages: int) -> dict[str, NetworkRecording]:
    capture = TcpdumpCapture(capture_plan(TEST_PLAN), directory, limit)
    await capture.start()
    await asyncio.to_thread(send_messages, receiver.address, SENDER_MTA, messages)
    await receiver.smtp.wait_ended(messages)  # the server's FIN is on the wire
    return await capture.stop()


def _sessions_seen(pcap: Path) -> tuple[int, int, int]:
    """Connections opened, connections closed by both sides, and messages accepted."""
    # by sequence number too: loopback reuses a client port at once (tcp_tw_reuse),
    # and a retransmitted SYN or FIN repeats its sequence number
    packets = decode_packets(read_capture(pcap).packets).packets
    opened = {(p.src, p.sport, p.seq) for p in packets if p.has(SYN) and not p.has(ACK)}
    closed = {(p.src, p.sport, p.dst, p.dport, p.seq) for p in packets if p.has(FIN)}
    queued = sum(p.payload.count(b"250 queued") for p in packets)
    return len(opened), len(closed) // 2, queued


@tcpdump_only
async def test_sessions_at_the_labs_rate_are_captured_whole(
    tmp_path: Path, receiver: Receiver
) -> None:
    recordings = await _capture(tmp_path, 10**8, receiver, LAB_RATE)
    assert list(recordings) == [n.name for n in TEST_PLAN.lab.captured_networks()]
    assert {n: r.problems for n, r in recordings.items() if r.problems} == {}  # no drop
    assert _sessions_seen(recordings[INTERNET].pcap) == (LAB_RATE, LAB_RATE, LAB_RATE)
    for recording in recordings.values():  # the end-of-capture marker is never written
        assert not any(b"end of capture" in p.data for p in read_capture(recording.pcap).packets)
    analysis = analyze_pcap_file(recordings[INTERNET].pcap, INTERNET, TEST_PLAN)
    assert {c.protocol for c in analysis.conversations} == {SMTP}
    assert {(c.client_role, c.server_role) for c in analysis.conversations} == {
        ("sender-mta", "receiver-mta")}


@tcpdump_only
async def test_a_burst_loses_nothing_unreported(
    tmp_path: Path, receiver: Receiver
) -> None:
    recordings = await _capture(tmp_path, 10**8, receiver, BURST)
    notes = recordings[INTERNET].problems
    assert all("dropped by kernel" in note for note in notes), notes
    if not notes:  # on a busy machine the kernel may drop some; then the note says so
        assert _sessions_seen(recordings[INTERNET].pcap) == (BURST, BURST, BURST)


@tcpdump_only
async def test_limit_cuts_the_pcap_on_a_packet_boundary_and_says_so(
    tmp_path: Path, receiver: Receiver
) -> None:
    recordings = await _capture(tmp_path, 5000, receiver, 10)
    internet = recordings[INTERNET]
    assert internet.pcap.stat().st_size <= 5000
    [note] = [n for n in internet.problems if "dropped by kernel" not in n]
    assert note.startswith(f"capture of {INTERNET} stopped at the 0.005 MB limit; ")
    capture = read_capture(internet.pcap)
    assert capture.problems == [] and capture.packets
    assert all(r.problems == [] for n, r in recordings.items() if n != INTERNET)


@tcpdump_only
async def test_a_network_without_traffic_still_gets_a_readable_pcap(tmp_path: Path) -> None:
    capture = TcpdumpCapture(capture_plan(TEST_PLAN), tmp_path)
    await capture.start()
    recordings = await capture.stop()
    for recording in recordings.values():
        assert read_capture(recording.pcap).packets == []


def test_drops_are_read_from_tcpdumps_exit_statistics() -> None:
    said = (b"tcpdump: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n"
            b"1523 packets captured\n1600 packets received by filter\n"
            b"77 packets dropped by kernel\n3 packets dropped by interface\n")
    assert dropped_packets(said) == [(77, "by kernel"), (3, "by interface")]
    assert dropped_packets(b"5 packets captured\n5 packets received by filter\n"
                           b"0 packets dropped by kernel\n") == []


@tcpdump_only
async def test_marker_frame_drains_a_capture_without_an_address(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # as on a compose bridge: no address to send a datagram to, so a raw frame is written
    # onto the interface (here loopback, filtered to the marker's EtherType)
    target = CaptureTarget("bridge", "lo", "ether proto 0x88b5", None)
    capture = TcpdumpCapture([target], tmp_path)
    await capture.start()
    send_marker(target, b"an earlier frame, not the marker")
    [recording] = (await capture.stop()).values()
    assert recording.problems == [] and "end marker" not in caplog.text  # seen, not timed out
    [frame] = read_capture(recording.pcap).packets  # the earlier frame; the marker left out
    assert frame.data.endswith(b"an earlier frame, not the marker")

# The recording relay: real sockets on loopback (the test lab's addresses), a real smtplib
# client, and the analyzer (plus tshark when present) reading back what the relay recorded.
from __future__ import annotations

import asyncio
import shutil
import smtplib
import socket
import subprocess
from pathlib import Path

from labctl.analysis import analyze_pcap, analyze_pcap_file
from labctl.capture.relay import RELAY_COMMENT, RecordingRelay, SharedRecording
from labctl.model import INTERNET, SMTP
from tests.conftest import TEST_PLAN

SENDER_MTA = TEST_PLAN.address("sender-mta", INTERNET)
RECEIVER_MTA = TEST_PLAN.address("receiver-mta", INTERNET)
SENDER_UA = TEST_PLAN.address("sender-ua", "alice-lan")
MALLORY = TEST_PLAN.address("mallory", INTERNET)


def _port_below_ephemeral(ip: str) -> int:
    """A free port under the ephemeral range, so the relay's port is below its clients'."""
    for port in range(21000, 22000):
        with socket.socket() as probe:
            try:
                probe.bind((ip, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port on {ip}")


def _send(relay: tuple[str, int], source: str) -> int:
    """Send one message through the relay with smtplib; returns the client's port."""
    with smtplib.SMTP(relay[0], relay[1], local_hostname="crepes.fr",
                      source_address=(source, 0)) as client:
        assert client.sock is not None
        port = int(client.sock.getsockname()[1])
        client.sendmail("alice@crepes.fr", ["bob@hamburger.edu"], "Subject: hi\r\n\r\nketchup?\r\n")
    return port


async def test_relay_forwards_and_records_a_real_smtp_dialog(
    tmp_path: Path, smtp_server: tuple[str, int]
) -> None:
    relay = RecordingRelay((RECEIVER_MTA, 0), smtp_server)
    await relay.start()
    pcap = tmp_path / "internet.pcapng"
    relay.start_recording(pcap)
    client_port = await asyncio.to_thread(_send, relay.address, SENDER_MTA)
    await relay.wait_idle()
    relay.stop_recording()
    await relay.stop()

    analysis = analyze_pcap_file(pcap, "internet", TEST_PLAN)
    assert analysis.comments == [RELAY_COMMENT] and analysis.problems == []
    [conversation] = analysis.conversations
    assert (conversation.client.ip, conversation.client.port) == (SENDER_MTA, client_port)
    assert (conversation.server.ip, conversation.server.port) == relay.address
    assert (conversation.client_role, conversation.server_role) == ("sender-mta", "receiver-mta")
    assert conversation.protocol == SMTP and conversation.handshake and conversation.closed
    assert conversation.dialog is not None and conversation.dialog.labels() == [
        "220", "EHLO", "250", "MAIL FROM", "250", "RCPT TO", "250", "DATA", "354", "message",
        ".", "250", "QUIT", "221"]
    assert conversation.problems == []
    if shutil.which("tshark"):
        flags = subprocess.run(["tshark", "-r", str(pcap), "-o", "tcp.check_checksum:TRUE",
                                "-Y", "tcp.analysis.flags or tcp.checksum.status != 1"],
                               capture_output=True, text=True, check=True).stdout
        assert flags.strip() == ""


async def test_two_relays_share_one_file_until_both_stop(
    tmp_path: Path, smtp_server: tuple[str, int]
) -> None:
    mx_relay = RecordingRelay((RECEIVER_MTA, 0), smtp_server)
    submission_relay = RecordingRelay((SENDER_MTA, 0), smtp_server)
    await mx_relay.start()
    await submission_relay.start()
    pcap = tmp_path / "shared.pcapng"
    mx_relay.start_recording(pcap)
    submission_relay.start_recording(pcap)
    await asyncio.to_thread(_send, mx_relay.address, SENDER_MTA)
    await asyncio.to_thread(_send, submission_relay.address, SENDER_UA)
    await mx_relay.wait_idle()
    mx_relay.stop_recording()
    assert SharedRecording._open  # still open for the submission relay
    await asyncio.to_thread(_send, submission_relay.address, SENDER_UA)
    await submission_relay.wait_idle()
    submission_relay.stop_recording()
    assert not SharedRecording._open
    await asyncio.to_thread(_send, mx_relay.address, SENDER_MTA)  # not recorded any more
    await mx_relay.stop()
    await submission_relay.stop()

    roles = [(c.client_role, c.server_role)
             for c in analyze_pcap(pcap, "internet", TEST_PLAN)]
    assert roles == [("sender-mta", "receiver-mta"), ("sender-ua", "sender-mta"),
                     ("sender-ua", "sender-mta")]


async def test_unreachable_target_is_recorded_as_a_reset(tmp_path: Path) -> None:
    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    dead_port = blocker.sockets[0].getsockname()[1]
    blocker.close()
    await blocker.wait_closed()
    relay = RecordingRelay((RECEIVER_MTA, 0), ("127.0.0.1", dead_port))
    await relay.start()
    relay.start_recording(tmp_path / "dead.pcapng")
    reader, writer = await asyncio.open_connection(*relay.address, local_addr=(SENDER_MTA, 0))
    assert await reader.read() == b""  # the relay hangs up
    writer.close()
    await relay.stop()
    [conversation] = analyze_pcap(tmp_path / "dead.pcapng", "internet", TEST_PLAN)
    assert conversation.handshake and conversation.closed and conversation.segments == []


async def test_recording_started_mid_connection_has_no_handshake(
    tmp_path: Path, smtp_server: tuple[str, int]
) -> None:
    # no SYN recorded: the analyzer takes the side with the higher port to be the client
    relay = RecordingRelay((RECEIVER_MTA, _port_below_ephemeral(RECEIVER_MTA)), smtp_server)
    await relay.start()
    reader, writer = await asyncio.open_connection(*relay.address, local_addr=(SENDER_MTA, 0))
    assert await reader.readline() == b"220 mail.hamburger.edu ESMTP\r\n"
    relay.start_recording(tmp_path / "late.pcapng")
    writer.write(b"HELO crepes.fr\r\nQUIT\r\n")
    assert await reader.read() == b"250 ok\r\n221 bye\r\n"
    writer.close()
    await relay.wait_idle()
    await relay.stop()
    [conversation] = analyze_pcap(tmp_path / "late.pcapng", "internet", TEST_PLAN)
    assert not conversation.handshake and conversation.client.ip == SENDER_MTA
    assert conversation.transcript == ["C: HELO crepes.fr", "S: 250 ok", "C: QUIT", "S: 221 bye"]


async def test_the_server_sees_the_real_client_address_behind_the_relay() -> None:
    # What a mail server checks (Received: header, SPF) must be the client, not the relay.
    seen: list[str] = []

    async def remember_peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(writer.get_extra_info("peername")[0])
        writer.close()

    server = await asyncio.start_server(remember_peer, RECEIVER_MTA, 0)
    relay = RecordingRelay((RECEIVER_MTA, 0), server.sockets[0].getsockname()[:2])
    await relay.start()

    def connect() -> None:
        with socket.create_connection(relay.address, source_address=(MALLORY, 0)) as client:
            client.recv(1)  # returns when the server closes, once it has seen the connection

    await asyncio.to_thread(connect)
    await relay.wait_idle()
    await relay.stop()
    server.close()
    await server.wait_closed()
    assert seen == [MALLORY]

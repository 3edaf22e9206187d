# Regenerates the capture fixtures of this directory.
#
#   python tests/data/pcaps/make_fixtures.py            synthesized fixtures only
#   python tests/data/pcaps/make_fixtures.py --real     also the real tcpdump captures
#
# Real captures (needs root and tcpdump): a tiny asyncio SMTP server on 127.77.2.26:2525
# (receiver-mta's local address on "internet") and smtplib bound to 127.77.2.25
# (sender-mta) sending two messages over one connection, recorded on `lo` (Ethernet)
# and on `any` (Linux cooked v1 and v2). Synthesized fixtures are deterministic; the
# tests rebuild them with synthesized_fixtures() and compare with the files.
from __future__ import annotations

import asyncio
import io
import signal
import smtplib
import struct
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from pathlib import Path

from labctl.analysis.results import Endpoint
from labctl.capture.packet_build import TcpStreamSynthesizer, ethernet_frame
from labctl.capture.pcap_writer import PcapngWriter, PcapWriter

HERE = Path(__file__).resolve().parent
T0 = 1_700_000_000.0
SENDER_MTA = Endpoint("127.77.2.25", 40001)
RECEIVER_MTA = Endpoint("127.77.2.26", 2525)

SMTP_DIALOG: list[tuple[bool, bytes]] = [
    (False, b"220 mail.hamburger.edu ESMTP\r\n"),
    (True, b"HELO crepes.fr\r\n"),
    (False, b"250 Hello crepes.fr, pleased to meet you\r\n"),
    (True, b"MAIL FROM: <alice@crepes.fr>\r\n"),
    (False, b"250 alice@crepes.fr ... Sender ok\r\n"),
    (True, b"RCPT TO: <bob@hamburger.edu>\r\n"),
    (False, b"250 bob@hamburger.edu ... Recipient ok\r\n"),
    (True, b"DATA\r\n"),
    (False, b"354 Enter mail, end with \".\" on a line by itself\r\n"),
    (True, b"Do you like ketchup?\r\n"),
    (True, b"How about pickles?\r\n.\r\n"),
    (False, b"250 Message accepted for delivery\r\n"),
    (True, b"QUIT\r\n"),
    (False, b"221 mail.hamburger.edu closing connection\r\n"),
]

POP3_DIALOG: list[tuple[bool, bytes]] = [
    (False, b"+OK POP3 server ready\r\n"),
    (True, b"USER bob\r\n"),
    (False, b"+OK\r\n"),
    (True, b"PASS hungry\r\n"),
    (False, b"+OK user successfully logged on\r\n"),
    (True, b"LIST\r\n"),
    (False, b"+OK\r\n1 498\r\n.\r\n"),
    (True, b"RETR 1\r\n"),
    (False, b"+OK\r\nDo you like ketchup?\r\n.\r\n"),
    (True, b"QUIT\r\n"),
    (False, b"+OK POP3 server signing off\r\n"),
]


class FrameList:
    """A packet sink that keeps frames, so a fixture can reorder them before writing."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, bytes]] = []

    def write_packet(self, timestamp: float, frame: bytes) -> None:
        self.frames.append((timestamp, frame))


def _conversation(client: Endpoint, server: Endpoint, dialog: list[tuple[bool, bytes]],
                  start: float = T0, handshake: bool = True) -> list[tuple[float, bytes]]:
    sink = FrameList()
    synthesizer = TcpStreamSynthesizer(sink, client, server)
    if handshake:
        synthesizer.handshake(start)
    for step, (from_client, data) in enumerate(dialog, 1):
        synthesizer.data(from_client, data, start + step * 0.01)
    synthesizer.close(start + len(dialog) * 0.01 + 0.01)
    return sink.frames


def _pcap(frames: list[tuple[float, bytes]]) -> bytes:
    out = io.BytesIO()
    writer = PcapWriter(out)
    for timestamp, frame in frames:
        writer.write_packet(timestamp, frame)
    return out.getvalue()


def _pcapng(frames: list[tuple[float, bytes]], comment: str,
            packet_comments: dict[int, str] | None = None) -> bytes:
    out = io.BytesIO()
    writer = PcapngWriter(out, comment=comment)
    for index, (timestamp, frame) in enumerate(frames):
        writer.write_packet(timestamp, frame, (packet_comments or {}).get(index))
    return out.getvalue()


def _reordered(frames: list[tuple[float, bytes]]) -> list[tuple[float, bytes]]:
    """The message's first body segment arrives after the second, which is also repeated.

    _conversation() writes 3 handshake frames, then a data frame and its ACK per step,
    so step i's data frame is frames[3 + 2 * i]; the body is steps 9 and 10.
    """
    first_body, second_body = 3 + 2 * 9, 3 + 2 * 10
    out = frames[:first_body] + frames[first_body + 1 : second_body + 1]
    out += [frames[second_body], frames[first_body], *frames[second_body + 1 :]]
    return out


def _other_frames() -> list[tuple[float, bytes]]:
    arp = b"\xff" * 6 + b"\x02\x00\x7f\x4d\x02\x19" + b"\x08\x06" + bytes(28)
    ipv6 = b"\x02" * 12 + b"\x86\xdd" + b"\x60" + bytes(39)
    udp = ethernet_frame("127.77.2.25", "127.77.2.53", struct.pack(
        ">BBHHHBBH4s4s", 0x45, 0, 28, 0, 0, 64, 17, 0, bytes([127, 77, 2, 25]),
        bytes([127, 77, 2, 53])) + bytes(8))
    return [(T0 - 1, arp), (T0 - 1, ipv6), (T0 - 1, udp)]


def synthesized_fixtures() -> dict[str, bytes]:
    """Every synthesized fixture file: name → bytes."""
    smtp = _conversation(SENDER_MTA, RECEIVER_MTA, SMTP_DIALOG)
    split_dialog = [*SMTP_DIALOG[:10], (True, b"How about pickles?\r\n."), (True, b"\r"),
                    (True, b"\n"), *SMTP_DIALOG[11:]]
    pop3 = _conversation(Endpoint("127.77.3.20", 45000), Endpoint("127.77.3.26", 25),
                         POP3_DIALOG)
    bypass = _conversation(Endpoint("127.77.1.10", 41000), RECEIVER_MTA, SMTP_DIALOG, T0 + 1)
    outsider = _conversation(Endpoint("127.77.2.99", 42000), RECEIVER_MTA, SMTP_DIALOG, T0 + 2)
    midstream = _conversation(SENDER_MTA, RECEIVER_MTA, SMTP_DIALOG, handshake=False)[6:]
    clean = _pcap(smtp)
    return {
        "smtp_synth.pcap": clean,
        "smtp_reordered.pcap": _pcap(_reordered(smtp)),
        "smtp_split_dot.pcapng": _pcapng(
            _conversation(SENDER_MTA, RECEIVER_MTA, split_dialog), "split end-of-data"),
        "pop3_port25.pcapng": _pcapng(pop3, "POP3 spoken on port 25"),
        "smtp_truncated.pcap": clean[:-30],
        "smtp_midstream.pcap": _pcap(midstream),
        "internet_mixed.pcapng": _pcapng(
            _other_frames() + smtp + bypass + outsider, "three SMTP clients",
            {3: "first SYN of sender-mta"}),
    }


async def _smtp_server_session(reader: asyncio.StreamReader,
                               writer: asyncio.StreamWriter) -> None:
    writer.write(b"220 mail.hamburger.edu ESMTP maillab fixture\r\n")
    in_data = False
    while line := await reader.readline():
        verb = line[:4].upper()
        if in_data:
            if line == b".\r\n":
                in_data = False
                writer.write(b"250 2.0.0 Ok: queued\r\n")
        elif verb == b"EHLO":
            writer.write(b"250-mail.hamburger.edu\r\n250-8BITMIME\r\n250 SIZE 10240000\r\n")
        elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            writer.write(b"250 2.1.0 Ok\r\n")
        elif verb == b"DATA":
            in_data = True
            writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
        elif verb == b"QUIT":
            writer.write(b"221 2.0.0 Bye\r\n")
            await writer.drain()
            break
        else:
            writer.write(b"502 5.5.2 Command not recognized\r\n")
        await writer.drain()
    writer.close()


def _send_two_messages() -> None:
    with smtplib.SMTP(RECEIVER_MTA.ip, RECEIVER_MTA.port, local_hostname="mail.crepes.fr",
                      source_address=(SENDER_MTA.ip, 0)) as client:
        for number, lines in ((1, 3), (2, 60)):
            message = EmailMessage()
            message["From"], message["To"] = "alice@crepes.fr", "bob@hamburger.edu"
            message["Subject"] = f"fixture message {number}"
            message.set_content("".join(f"line {i}\n" for i in range(lines)) + ".dot-stuffed\n")
            client.send_message(message)


def record_real_captures() -> None:
    """Run the SMTP exchange on loopback while tcpdump records it three ways."""
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(
        asyncio.start_server(_smtp_server_session, RECEIVER_MTA.ip, RECEIVER_MTA.port))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    flt = ["host", RECEIVER_MTA.ip, "and", "tcp", "port", str(RECEIVER_MTA.port)]
    runs = {"smtp_real_lo.pcap": ["-i", "lo"],
            "smtp_real_sll.pcap": ["-i", "any", "-y", "LINUX_SLL"],
            "smtp_real_sll2.pcap": ["-i", "any", "-y", "LINUX_SLL2"]}
    tcpdump = ["tcpdump", "-U", "--immediate-mode", "-n", "-Z", "root"]
    dumps = [subprocess.Popen([*tcpdump, *opts, "-w", str(HERE / name), *flt],
                              stderr=subprocess.PIPE) for name, opts in runs.items()]
    for dump in dumps:
        assert dump.stderr is not None
        dump.stderr.readline()  # "listening on ..." once the capture runs
    time.sleep(1.0)  # the filter is attached a little after that line
    _send_two_messages()
    time.sleep(1.0)
    for dump in dumps:
        dump.send_signal(signal.SIGINT)
        _, errors = dump.communicate(timeout=10)
        print(errors.decode().strip())
    server.close()
    loop.call_soon_threadsafe(loop.stop)


def main() -> None:
    for name, data in synthesized_fixtures().items():
        (HERE / name).write_bytes(data)
    if "--real" in sys.argv:
        record_real_captures()


if __name__ == "__main__":
    main()

# transcript: the lecture's S:/C: lines, across packet boundaries, escaped and elided.
from __future__ import annotations

from pathlib import Path

from labctl.analysis import analyze_pcap
from labctl.analysis.results import Segment
from labctl.analysis.transcript import build_transcript, printable, split_lines
from labctl.model import POP3, SMTP, Addressing

LECTURE = [
    "S: 220 mail.hamburger.edu ESMTP",
    "C: HELO crepes.fr",
    "S: 250 Hello crepes.fr, pleased to meet you",
    "C: MAIL FROM: <alice@crepes.fr>",
    "S: 250 alice@crepes.fr ... Sender ok",
    "C: RCPT TO: <bob@hamburger.edu>",
    "S: 250 bob@hamburger.edu ... Recipient ok",
    "C: DATA",
    'S: 354 Enter mail, end with "." on a line by itself',
    "C: Do you like ketchup?",
    "C: How about pickles?",
    "C: .",
    "S: 250 Message accepted for delivery",
    "C: QUIT",
    "S: 221 mail.hamburger.edu closing connection",
]


def test_lecture_transcript_from_reordered_capture(pcaps: Path, local: Addressing) -> None:
    [conversation] = analyze_pcap(pcaps / "smtp_reordered.pcap", "internet", local)
    assert conversation.transcript == LECTURE


def test_end_of_data_split_over_three_packets(pcaps: Path, local: Addressing) -> None:
    [conversation] = analyze_pcap(pcaps / "smtp_split_dot.pcapng", "internet", local)
    assert conversation.transcript == LECTURE
    assert conversation.problems == []


def test_lines_split_anywhere_are_joined() -> None:
    segments = [Segment(False, b"220 he", 1.0), Segment(True, b"HE", 1.5),
                Segment(False, b"llo\r\n", 2.0), Segment(True, b"LO x\r", 2.5),
                Segment(True, b"\n", 3.0)]
    lines = split_lines(segments)
    assert [(line.from_client, line.raw, line.timestamp) for line in lines] == [
        (False, b"220 hello", 1.0), (True, b"HELO x", 1.5)]


def test_non_printable_bytes_are_escaped() -> None:
    assert printable(b"caf\xc3\xa9\tok\x00\x1b[0m") == "caf\\xc3\\xa9\\tok\\x00\\x1b[0m"
    transcript, _ = build_transcript([Segment(True, b"HELO \xff\r\n", 0.0)], SMTP)
    assert transcript == ["C: HELO \\xff"]


def test_long_body_is_elided_but_the_dot_is_kept() -> None:
    body = b"".join(b"line %d\r\n" % i for i in range(100)) + b".\r\n"
    segments = [Segment(False, b"354 go\r\n", 0.0), Segment(True, body, 1.0),
                Segment(False, b"250 ok\r\n", 2.0)]
    transcript, problems = build_transcript(segments, SMTP, max_body_lines=5)
    assert transcript == ["S: 354 go", *[f"C: line {i}" for i in range(5)],
                          "C: [... 95 more lines ...]", "C: .", "S: 250 ok"]
    assert problems == []


def test_pop3_retr_body_is_elided() -> None:
    segments = [Segment(True, b"RETR 1\r\n", 0.0),
                Segment(False, b"+OK\r\n" + b"x\r\n" * 10 + b".\r\n", 1.0),
                Segment(True, b"QUIT\r\n", 2.0)]
    transcript, _ = build_transcript(segments, POP3, max_body_lines=2)
    assert transcript == ["C: RETR 1", "S: +OK", "S: x", "S: x", "S: [... 8 more lines ...]",
                          "S: .", "C: QUIT"]


def test_unterminated_line_and_unfinished_body_are_problems() -> None:
    segments = [Segment(False, b"354 go\r\n", 0.0), Segment(True, b"half a li", 1.0)]
    transcript, problems = build_transcript(segments, SMTP)
    assert transcript == ["S: 354 go", "C: half a li"]
    assert problems == ["client's last line has no line ending: half a li",
                        "the message body never ended with a '.' line"]

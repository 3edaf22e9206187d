# transcript: the lecture's S:/C: lines from the dialog, across packets, escaped and elided.
from __future__ import annotations

from pathlib import Path

import dns.message

from labctl.analysis import analyze_pcap
from labctl.analysis.dialog import COMMAND, CONTINUATION, IDLE_DONE, SASL_RESPONSE
from labctl.analysis.dialogs import build_dialog
from labctl.analysis.dialogs.streams import printable
from labctl.analysis.results import Segment
from labctl.analysis.transcript import build_transcript
from labctl.model import HTTP, IMAP, POP3, SMTP, Addressing
from labctl.model.topology import DNS

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


def transcript_of(segments: list[Segment], protocol: str = SMTP, max_body_lines: int = 40,
                  transport: str = "tcp") -> tuple[list[str], list[str]]:
    dialog = build_dialog(protocol, segments, transport)
    return build_transcript(dialog, max_body_lines), dialog.problems


def test_lines_split_anywhere_are_joined() -> None:
    segments = [Segment(False, b"220 he", 1.0), Segment(True, b"HE", 1.5),
                Segment(False, b"llo\r\n", 2.0), Segment(True, b"LO x\r", 2.5),
                Segment(True, b"\n", 3.0), Segment(False, b"250 ok\r\n", 3.5)]
    dialog = build_dialog(SMTP, segments)
    assert [(step.from_client, step.label, step.timestamp) for step in dialog.steps] == [
        (False, "220", 1.0), (True, "HELO", 1.5), (False, "250", 3.5)]
    assert build_transcript(dialog) == ["S: 220 hello", "C: HELO x", "S: 250 ok"]


def test_non_printable_bytes_are_escaped() -> None:
    assert printable(b"caf\xc3\xa9\tok\x00\x1b[0m") == "caf\\xc3\\xa9\\tok\\x00\\x1b[0m"
    transcript, problems = transcript_of([Segment(False, b"220 hi\r\n", 0.0),
                                          Segment(True, b"HELO \xff\r\n", 1.0)])
    assert transcript == ["S: 220 hi", "C: HELO \\xff"]
    assert problems[0].startswith(
        "client line not a command of SMTP: command argument is not valid UTF-8")
    assert problems[1:] == ['the capture ends before the server answered "HELO \\xff"']


def dialog_to_data() -> list[Segment]:
    """An SMTP conversation up to the 354 reply, one segment per line."""
    lines = ["S: 220 hi", "C: HELO x", "S: 250 ok", "C: MAIL FROM:<a@b>", "S: 250 ok",
             "C: RCPT TO:<c@d>", "S: 250 ok", "C: DATA", "S: 354 go"]
    return [Segment(line.startswith("C"), line[3:].encode() + b"\r\n", i / 10)
            for i, line in enumerate(lines)]


def test_long_body_is_elided_but_the_dot_is_kept() -> None:
    body = b"".join(b"line %d\r\n" % i for i in range(100)) + b".\r\n"
    segments = [*dialog_to_data(), Segment(True, body, 1.0), Segment(False, b"250 ok\r\n", 2.0)]
    transcript, problems = transcript_of(segments, max_body_lines=5)
    assert problems == []
    assert transcript[-9:] == ["S: 354 go", *[f"C: line {i}" for i in range(5)],
                               "C: [... 95 more lines ...]", "C: .", "S: 250 ok"]


def test_pop3_retr_body_is_elided() -> None:
    segments = [Segment(False, b"+OK ready\r\n", 0.0), Segment(True, b"RETR 1\r\n", 0.5),
                Segment(False, b"+OK\r\n" + b"x\r\n" * 10 + b".\r\n", 1.0),
                Segment(True, b"QUIT\r\n", 2.0)]
    transcript, problems = transcript_of(segments, POP3, max_body_lines=2)
    assert transcript == ["S: +OK ready", "C: RETR 1", "S: +OK", "S: x", "S: x",
                          "S: [... 8 more lines ...]", "S: .", "C: QUIT"]
    assert problems == ["the capture ends before the server answered QUIT"]


def test_unterminated_line_and_unfinished_body_are_problems() -> None:
    segments = [*dialog_to_data(), Segment(True, b"half a li", 1.0)]
    transcript, problems = transcript_of(segments)
    assert transcript[-2:] == ["S: 354 go", "C: half a li"]
    assert problems == ["the message after 354 never ended with a '.' line"]


def test_imap_and_http_lines_show_as_sent() -> None:
    imap, _ = transcript_of([Segment(False, b"* OK ready\r\n", 0.0),
                          Segment(True, b"a1 LOGIN bob pw\r\n", 0.1),
                          Segment(False, b"a1 OK logged in\r\n", 0.2)], IMAP)
    assert imap == ["S: * OK ready", "C: a1 LOGIN bob pw", "S: a1 OK logged in"]
    http, _ = transcript_of([Segment(True, b"GET /inbox HTTP/1.1\r\nHost: mail\r\n\r\n", 0.0),
                          Segment(False, b"HTTP/1.1 204 No Content\r\n\r\n", 0.1)], HTTP)
    assert http[:3] == ["C: GET /inbox HTTP/1.1", "C: Host: mail", "S: HTTP/1.1 204 No Content"]


def test_a_dns_question_shows_its_type_and_name() -> None:
    query = dns.message.make_query("hamburger.edu", "MX")
    answer = dns.message.make_response(query)
    transcript, _ = transcript_of([Segment(True, query.to_wire(), 0.0),
                                Segment(False, answer.to_wire(), 0.1)], DNS, transport="udp")
    assert transcript[0] == f"C: MX hamburger.edu (id {query.id})"


SASL_LINE = b"AGJvYgBwdw=="
SASL_EXCHANGES = {  # the same PLAIN exchange in each protocol that has one
    SMTP: [(False, b"220 mx ESMTP\r\n"), (True, b"EHLO c\r\n"), (False, b"250 AUTH PLAIN\r\n"),
           (True, b"AUTH PLAIN\r\n"), (False, b"334 \r\n"), (True, SASL_LINE + b"\r\n"),
           (False, b"235 ok\r\n")],
    POP3: [(False, b"+OK ready\r\n"), (True, b"AUTH PLAIN\r\n"), (False, b"+ \r\n"),
           (True, SASL_LINE + b"\r\n"), (False, b"+OK in\r\n")],
    IMAP: [(False, b"* OK ready\r\n"), (True, b"a1 AUTHENTICATE PLAIN\r\n"), (False, b"+ \r\n"),
           (True, SASL_LINE + b"\r\n"), (False, b"a1 OK in\r\n")],
}


def test_a_sasl_response_is_one_kind_of_step_in_every_protocol() -> None:
    for protocol, script in SASL_EXCHANGES.items():
        segments = [Segment(side, data, float(i)) for i, (side, data) in enumerate(script)]
        dialog = build_dialog(protocol, segments)
        [line] = [step for step in dialog.steps if step.kind == CONTINUATION]
        assert (line.label, line.text, dialog.problems) == (SASL_RESPONSE, "AGJvYgBwdw==", [])
        assert f"C: {SASL_LINE.decode()}" in build_transcript(dialog)
    idle = build_dialog(IMAP, [Segment(False, b"* PREAUTH hi\r\n", 0.0),
                               Segment(True, b"a1 IDLE\r\n", 1.0),
                               Segment(False, b"+ idling\r\n", 2.0),
                               Segment(True, b"DONE\r\n", 3.0),
                               Segment(False, b"a1 OK done\r\n", 4.0)])
    assert [(s.kind, s.label) for s in idle.steps if s.from_client] == [
        (COMMAND, "IDLE"), (CONTINUATION, IDLE_DONE)]
    assert build_transcript(idle)[3] == "C: DONE"

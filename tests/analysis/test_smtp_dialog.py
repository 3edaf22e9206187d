# smtp_dialog: the steps the scenario checks grade, from real and broken traffic.
from __future__ import annotations

from pathlib import Path

from labctl.analysis import analyze_pcap, extract_smtp_dialog
from labctl.analysis.results import Segment
from labctl.analysis.smtp_dialog import END_OF_DATA, MESSAGE
from labctl.model import Addressing

TEXTBOOK = ["220", "HELO", "250", "MAIL FROM", "250", "RCPT TO", "250", "DATA", "354",
            "message", ".", "250", "QUIT", "221"]


def test_textbook_dialog(pcaps: Path, local: Addressing) -> None:
    [conversation] = analyze_pcap(pcaps / "smtp_split_dot.pcapng", "internet", local)
    dialog = extract_smtp_dialog(conversation.segments)
    assert dialog.labels() == TEXTBOOK and dialog.problems == []
    assert dialog.messages() == [b"Do you like ketchup?\r\nHow about pickles?\r\n"]
    mail = dialog.steps[3]
    assert mail.from_client and mail.text == "FROM: <alice@crepes.fr>"


def test_real_smtplib_dialog_two_messages_one_connection(pcaps: Path, local: Addressing) -> None:
    [conversation] = analyze_pcap(pcaps / "smtp_real_lo.pcap", "internet", local)
    dialog = extract_smtp_dialog(conversation.segments)
    transaction = ["MAIL FROM", "250", "RCPT TO", "250", "DATA", "354", "message", ".", "250"]
    assert dialog.labels() == ["220", "EHLO", "250", *transaction, *transaction, "QUIT", "221"]
    ehlo_reply = dialog.steps[2]
    assert ehlo_reply.code == 250 and ehlo_reply.text.splitlines() == [
        "mail.hamburger.edu", "8BITMIME", "SIZE 10240000"]
    assert [s.kind for s in dialog.steps].count(END_OF_DATA) == 2
    second = [s for s in dialog.steps if s.kind == MESSAGE][1].data
    assert b"\r\n..dot-stuffed\r\n" in second and second.count(b"\r\n") > 60


def test_broken_lines_become_problems_not_exceptions() -> None:
    segments = [Segment(False, b"220 ok\r\n", 0.0), Segment(True, b"\x00\x01 \r\n", 1.0),
                Segment(False, b"25O typo\r\n", 2.0), Segment(False, b"250-a\r\n", 2.5),
                Segment(False, b"251 b\r\n", 2.6), Segment(True, b"QUIT", 3.0)]
    dialog = extract_smtp_dialog(segments)
    assert dialog.labels() == ["220", "251", "QUIT"]
    assert len(dialog.problems) == 4
    assert dialog.problems[0].startswith("client line not an SMTP command")
    assert dialog.problems[1].startswith("server line not an SMTP reply")
    assert "changes its code from 250 to 251" in dialog.problems[2]
    assert "no line ending" in dialog.problems[3]


def test_starttls_stops_interpretation() -> None:
    segments = [Segment(False, b"220 ok\r\n", 0.0), Segment(True, b"STARTTLS\r\n", 1.0),
                Segment(False, b"220 go ahead\r\n", 2.0), Segment(True, b"\x16\x03\x01\n", 3.0)]
    dialog = extract_smtp_dialog(segments)
    assert dialog.labels() == ["220", "STARTTLS", "220"]
    assert dialog.problems == ["the dialog continues encrypted after STARTTLS"]

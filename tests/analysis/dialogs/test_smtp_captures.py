# The SMTP dialog of captured conversations: the steps the scenario checks grade.
from __future__ import annotations

from pathlib import Path

from labctl.analysis import analyze_pcap
from labctl.analysis.dialog import END, PAYLOAD, Dialog
from labctl.analysis.results import Conversation
from labctl.model import Addressing

TEXTBOOK = ["220", "HELO", "250", "MAIL FROM", "250", "RCPT TO", "250", "DATA", "354",
            "message", ".", "250", "QUIT", "221"]


def dialog_of(conversation: Conversation) -> Dialog:
    assert conversation.dialog is not None
    return conversation.dialog


def test_textbook_dialog(pcaps: Path, local: Addressing) -> None:
    [conversation] = analyze_pcap(pcaps / "smtp_split_dot.pcapng", "internet", local)
    dialog = dialog_of(conversation)
    assert dialog.labels() == TEXTBOOK and dialog.problems == []
    assert dialog.payloads() == [b"Do you like ketchup?\r\nHow about pickles?\r\n"]
    mail = dialog.steps[3]
    assert mail.from_client and mail.text == "FROM: <alice@crepes.fr>"
    assert [step.answers for step in dialog.steps if step.kind == "reply"] == [
        None, 1, 3, 5, 7, 10, 12]
    [transaction] = dialog.smtp
    assert (transaction.mail_from, transaction.rcpt_to) == ("alice@crepes.fr",
                                                            ("bob@hamburger.edu",))
    assert transaction.accepted and transaction.reply == "250"


def test_real_smtplib_dialog_two_messages_one_connection(pcaps: Path, local: Addressing) -> None:
    [conversation] = analyze_pcap(pcaps / "smtp_real_lo.pcap", "internet", local)
    dialog = dialog_of(conversation)
    transaction = ["MAIL FROM", "250", "RCPT TO", "250", "DATA", "354", "message", ".", "250"]
    assert dialog.labels() == ["220", "EHLO", "250", *transaction, *transaction, "QUIT", "221"]
    ehlo_reply = dialog.steps[2]
    assert ehlo_reply.code == "250" and ehlo_reply.text.splitlines() == [
        "mail.hamburger.edu", "8BITMIME", "SIZE 10240000"]
    assert [s.kind for s in dialog.steps].count(END) == 2
    second = [s for s in dialog.steps if s.kind == PAYLOAD][1].data
    assert b"\r\n..dot-stuffed\r\n" in second and second.count(b"\r\n") > 60
    assert len(dialog.smtp) == 2 and all(t.accepted for t in dialog.smtp)
    assert dialog.pipelined == [] and dialog.problems == []  # smtplib waits for each reply
    assert dialog.smtp[1].size == len(second) - 1  # one stuffed dot removed

# The SMTP dialog rule: steps derived from transcripts, and what is missing or misplaced.
from __future__ import annotations

import pytest

from labctl.scenarios.smtp_dialog import DialogStep, dialog_steps, missing_step


def tokens(transcript: list[str]) -> list[str]:
    return [s.token for s in dialog_steps(transcript)]


def test_complete_dialog_skips_message_lines(server_dialog: list[str]) -> None:
    assert tokens(server_dialog) == [
        "220", "EHLO", "250", "MAIL FROM", "250", "RCPT TO", "250", "DATA", "354", ".", "250",
        "QUIT", "221",
    ]
    assert missing_step(dialog_steps(server_dialog)) is None


def test_helo_is_as_good_as_ehlo(server_dialog: list[str]) -> None:
    lines = [line.replace("EHLO", "HELO") for line in server_dialog]
    assert missing_step(dialog_steps(lines)) is None


def test_garbage_lines_are_ignored() -> None:
    steps = dialog_steps(["S: hello there", "X: what", "C: ", "S: 220 hi"])
    assert steps == [DialogStep(False, "220")]


def _without(lines: list[str], prefix: str) -> list[str]:
    return [line for line in lines if not line.startswith(prefix)]


@pytest.mark.parametrize(
    ("prefix", "problem"),
    [
        ("C: QUIT", "missing QUIT after 250"),
        ("S: 221", "missing 221 (no reply after QUIT)"),
        ("C: MAIL FROM", "missing MAIL FROM after HELO or EHLO"),
        ("S: 220", "the connection opened was answered with 250, expected 220"),
        ("C: EHLO", "missing HELO or EHLO after 220"),
    ],
)
def test_missing_steps_are_named(server_dialog: list[str], prefix: str, problem: str) -> None:
    assert missing_step(dialog_steps(_without(server_dialog, prefix))) == problem


def test_rcpt_before_mail_is_out_of_order() -> None:
    lines = [
        "S: 220 hi", "C: HELO x", "S: 250 ok", "C: RCPT TO:<b@h.edu>", "S: 503 need MAIL",
        "C: MAIL FROM:<a@c.fr>", "S: 250 ok", "C: DATA", "S: 354 go", "C: hi", "C: .",
        "S: 250 ok", "C: QUIT", "S: 221 bye",
    ]
    assert missing_step(dialog_steps(lines)) == "RCPT TO out of order: it comes before MAIL FROM"


def test_rejected_data_and_rejected_message() -> None:
    head = ["S: 220 hi", "C: EHLO x", "S: 250 ok", "C: MAIL FROM:<a@c.fr>", "S: 250 ok",
            "C: RCPT TO:<b@h.edu>", "S: 250 ok", "C: DATA"]
    assert missing_step(dialog_steps([*head, "S: 554 no"])) == (
        "DATA was answered with 554, expected 354"
    )
    rejected = [*head, "S: 354 go", "C: x", "C: .", "S: 550 spam", "C: QUIT", "S: 221 bye"]
    assert missing_step(dialog_steps(rejected)) == (
        'the lone "." was answered with 550, expected 250'
    )

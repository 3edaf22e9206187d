# The smtp_dialog grading rule on dialogs extracted (by labctl.analysis) from the wire.
from __future__ import annotations

import pytest

from labctl.analysis import build_dialog
from labctl.scenarios.dialog_rule import missing_step
from tests.scenarios.scenario_builders import segments


def problem(transcript: list[str]) -> str | None:
    return missing_step(build_dialog("SMTP", segments(transcript)).steps)


def test_complete_dialog(server_dialog: list[str]) -> None:
    assert problem(server_dialog) is None


def test_helo_is_as_good_as_ehlo(server_dialog: list[str]) -> None:
    assert problem([line.replace("EHLO", "HELO") for line in server_dialog]) is None


def _without(lines: list[str], prefix: str) -> list[str]:
    return [line for line in lines if not line.startswith(prefix)]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("C: QUIT", "missing QUIT after 250"),
        ("S: 221", "missing 221 (no reply after QUIT)"),
        ("C: MAIL FROM", "missing MAIL FROM after HELO or EHLO"),
        ("S: 220", "the connection opened was answered with 250, expected 220"),
        ("C: EHLO", "missing HELO or EHLO after 220"),
    ],
)
def test_missing_steps_are_named(server_dialog: list[str], prefix: str, expected: str) -> None:
    assert problem(_without(server_dialog, prefix)) == expected


def test_rcpt_before_mail_is_out_of_order() -> None:
    lines = [
        "S: 220 hi",
        "C: HELO x",
        "S: 250 ok",
        "C: RCPT TO:<b@h.edu>",
        "S: 503 need MAIL",
        "C: MAIL FROM:<a@c.fr>",
        "S: 250 ok",
        "C: DATA",
        "S: 354 go",
        "C: hi",
        "C: .",
        "S: 250 ok",
        "C: QUIT",
        "S: 221 bye",
    ]
    assert problem(lines) == "RCPT TO out of order: it comes before MAIL FROM"


def test_rejected_data_and_rejected_message() -> None:
    head = [
        "S: 220 hi",
        "C: EHLO x",
        "S: 250 ok",
        "C: MAIL FROM:<a@c.fr>",
        "S: 250 ok",
        "C: RCPT TO:<b@h.edu>",
        "S: 250 ok",
        "C: DATA",
    ]
    assert problem([*head, "S: 554 no"]) == "DATA was answered with 554, expected 354"
    rejected = [*head, "S: 354 go", "C: x", "C: .", "S: 550 spam", "C: QUIT", "S: 221 bye"]
    assert problem(rejected) == 'the lone "." was answered with 550, expected 250'

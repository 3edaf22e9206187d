# `labctl queue ROLE`: the table it prints, and its options refused when combined.
from __future__ import annotations

import pytest

from labctl.cli import main, render_queue
from labctl.model.mail_queue import QueueEntry


def entry(queue_id: str, **changes: object) -> QueueEntry:
    fields: dict[str, object] = {
        "id": queue_id, "mail_from": "alice@crepes.fr", "rcpt_tos": ["bob@hamburger.edu"],
        "attempts": 2, "last_error": "cannot connect to receiver-mta (198.18.2.26:25)",
        "next_attempt": 1030.0, "message_id": "<m@test>", "created": 1000.0, **changes}
    return QueueEntry.model_validate(fields)


def test_the_table_shows_who_what_when_and_why() -> None:
    table = render_queue([entry("1.a"), entry("2.b", next_attempt=0.0, last_error=None,
                                              mail_from="", state="failed")], now=1000.0)
    header, first, second = table.splitlines()
    assert header.split() == ["ID", "FROM", "TO", "TRIES", "NEXT", "LAST", "ERROR"]
    assert first.split()[:5] == ["1.a", "<alice@crepes.fr>", "bob@hamburger.edu", "2", "30s"]
    assert first.endswith("cannot connect to receiver-mta (198.18.2.26:25)")
    assert second.split() == ["2.b", "<>", "bob@hamburger.edu", "2", "failed", "-"]
    assert render_queue([], now=0.0) == "queue is empty\n"


def test_flush_and_delete_cannot_be_combined(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["queue", "sender-mta", "--flush", "--delete", "1.a"])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err

# Helpers for relay tests: queue files written directly (as an older server or a crash
# may have left them) and DSNs read back with the standard library's parser.
from __future__ import annotations

import email
import email.policy
import json
import time
from email.message import Message
from pathlib import Path


def raw_message(subject: str, sender: str = "alice@crepes.fr",
                to: str = "bob@hamburger.edu") -> bytes:
    """A small RFC 5322 message whose Message-ID is <subject@test>."""
    return (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@test>\r\n\r\nbody of {subject}\r\n").encode()


def write_queue_file(data_dir: Path, name: str, mail_from: str, rcpt_tos: list[str],
                     data: bytes, created: float | None = None) -> None:
    """Write DIR/queue/<name>.msg in the queue's file format, bypassing SMTP entirely."""
    folder = data_dir / "queue"
    folder.mkdir(parents=True, exist_ok=True)
    envelope = {"mail_from": mail_from, "rcpt_tos": rcpt_tos,
                "created": time.time() if created is None else created,
                "attempts": 0, "next_attempt": 0.0, "last_error": None}
    (folder / f"{name}.msg").write_bytes(json.dumps(envelope).encode() + b"\n" + data)


def delivery_report(dsn: bytes) -> tuple[Message, list[Message]]:
    """A DSN's top-level message and its per-recipient delivery-status field groups."""
    message = email.message_from_bytes(dsn, policy=email.policy.compat32)
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    parts = [part for part in message.get_payload() if isinstance(part, Message)]
    assert [p.get_content_type() for p in parts] == [
        "text/plain", "message/delivery-status", "text/rfc822-headers"]
    groups = [group for group in parts[1].get_payload() if isinstance(group, Message)]
    return message, groups[1:]  # the first group is the per-message one

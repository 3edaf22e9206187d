# Delivery status notifications (RFC 3464): the bounce a sender gets when mail fails.
#
# A DSN is a multipart/report message from MAILER-DAEMON: a text/plain part for
# people, a message/delivery-status part for programs (Reporting-MTA, then per
# recipient Final-Recipient, Action, Status, Remote-MTA, Diagnostic-Code) and a
# text/rfc822-headers part with the original message's headers. It is sent with a
# null envelope sender (MAIL FROM:<>), so a DSN that fails itself is never bounced
# (RFC 5321 4.5.5). Every remote text is passed through printable() first.
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, formatdate, make_msgid

from roles.mailserver.printable import printable
from roles.mailserver.storage import QueuedMessage

MAX_QUOTED_HEADERS = 32 * 1024
_ENHANCED_STATUS = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True)
class RecipientFailure:
    """Why one recipient failed for good: its status (RFC 3463) and what was said."""

    recipient: str
    status: str  # e.g. "5.1.1"
    diagnostic: str  # e.g. "smtp; 550 5.1.1 User unknown" or a local explanation
    remote_mta: str | None = None  # the server that said it, when one did


def status_of(code: int, text: str) -> str:
    """The enhanced status code of a reply: the one it carries, else X.0.0 from its class."""
    found = _ENHANCED_STATUS.match(text)
    if found and found.group(1) == str(code)[0]:
        return found.group(0)
    return f"{str(code)[0]}.0.0"


def original_headers(data: bytes) -> bytes:
    """The header section of a raw message (at most MAX_QUOTED_HEADERS octets)."""
    end = data.find(b"\r\n\r\n")
    head = data if end < 0 else data[:end + 2]
    return head[:MAX_QUOTED_HEADERS]


def delivery_status_notification(hostname: str, message: QueuedMessage,
                                 failures: Sequence[RecipientFailure]) -> bytes:
    """The DSN telling `message.mail_from` that `failures` could not be delivered."""
    boundary = f"{message.id}/{hostname}"
    arrival = format_datetime(datetime.fromtimestamp(message.created, UTC))
    explained = "\r\n".join(
        f"<{printable(f.recipient)}>: {printable(f.diagnostic, 500)}" for f in failures)
    per_recipient = "\r\n".join(
        f"Final-Recipient: rfc822; {printable(f.recipient)}\r\nAction: failed\r\n"
        f"Status: {f.status}\r\n"
        + (f"Remote-MTA: dns; {printable(f.remote_mta)}\r\n" if f.remote_mta else "")
        + f"Diagnostic-Code: {printable(f.diagnostic, 500)}\r\n"
        for f in failures)
    text = (
        f"From: Mail Delivery System <MAILER-DAEMON@{hostname}>\r\n"
        f"To: <{printable(message.mail_from)}>\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {formatdate(localtime=True)}\r\n"
        f"Message-ID: {make_msgid(domain=hostname)}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status;\r\n"
        f"\tboundary=\"{boundary}\"\r\n"
        "\r\n"
        "This is a MIME-encapsulated message.\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"This is the mail system at host {hostname}.\r\n\r\n"
        "Your message could not be delivered to one or more recipients.\r\n"
        "It is attached below (headers only).\r\n\r\n"
        f"{explained}\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; {hostname}\r\nX-Maillab-Queue-ID: {message.id}\r\n"
        f"Arrival-Date: {arrival}\r\n\r\n"
        f"{per_recipient}\r\n"
        f"--{boundary}\r\n"
        "Content-Description: Undelivered Message Headers\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
    )
    closing = f"\r\n--{boundary}--\r\n".encode("ascii")
    return text.encode("ascii") + original_headers(message.data) + closing

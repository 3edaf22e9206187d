# Composing the messages a user agent sends: RFC 5322 headers (From, To, Subject,
# Date, Message-ID) and a MIME body, exactly as Alice's mail program would.
from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, localtime, make_msgid


def compose_message(
    sender: str,
    to: str,
    subject: str,
    body: str,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """Build a complete message; `headers` adds or overrides header fields."""
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(localtime())
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    for name, value in (headers or {}).items():
        del message[name]
        message[name] = value
    message.set_content(body)
    return message

# Composing the messages a user agent sends, as Alice's mail program would: RFC 5322
# headers (From, To, Subject, Date, Message-ID always), a text/plain body, and
# multipart/mixed with one part per attachment. Non-ASCII header text is encoded
# RFC 2047 and non-ASCII body text quoted-printable, so the message is 7-bit clean
# and any SMTP server takes it, 8BITMIME or not.
from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, localtime, make_msgid

from labctl.agent_contract import SendRequest

POLICY = SMTP.clone(cte_type="7bit")


class ComposeError(ValueError):
    """The request cannot be made into a message; the message names the field."""


def compose_message(sender: str, request: SendRequest) -> EmailMessage:
    """Build the complete message `request` describes; its headers add or override fields."""
    message = EmailMessage(policy=POLICY)
    message["From"] = sender
    message["To"] = request.to
    message["Subject"] = request.subject
    message["Date"] = format_datetime(localtime())
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    for name, value in request.headers.items():
        del message[name]
        try:
            message[name] = value
        except (ValueError, TypeError, IndexError) as error:
            raise ComposeError(f"headers.{name}: {error}") from None
    message.set_content(request.body)
    for index, attachment in enumerate(request.attachments):
        maintype, _, subtype = attachment.content_type.partition("/")
        try:
            message.add_attachment(
                attachment.content(), maintype=maintype, subtype=subtype,
                filename=attachment.filename,
            )
        except (ValueError, TypeError) as error:
            raise ComposeError(f"attachments.{index}: {error}") from None
    for required in ("Date", "Message-ID"):
        if not str(message.get(required, "")).strip():
            raise ComposeError(f"headers.{required}: may not be empty")
    return message


def message_bytes(message: EmailMessage) -> bytes:
    """The message as submitted on the wire; ComposeError when a header cannot be written."""
    try:
        return message.as_bytes()
    except (ValueError, TypeError, IndexError, UnicodeError) as error:
        raise ComposeError(f"headers: {error}") from None

# Composing the messages a user agent sends, as Alice's mail program would: RFC 5322
# headers (From, To, Subject, Date, Message-ID always), a text/plain body, and
# multipart/mixed with one part per attachment. Non-ASCII header text is always
# encoded RFC 2047; non-ASCII body text goes as 8bit when the server announced
# 8BITMIME (the message is then composed for it, see mail_clients.submit), else
# quoted-printable, so that any SMTP server takes the message. The mail servers' webmail
# composes what it sends with this module too (roles/mailserver/webmail_mailboxes.py).
from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, localtime, make_msgid

from labctl.agent_contract import SendRequest

POLICIES = {True: SMTP, False: SMTP.clone(cte_type="7bit")}  # by: 8bit body allowed


# What the stdlib's header parsers raise on values they cannot parse; AttributeError
# included, since an address header such as `To: :;0` (an empty group) makes it raise one.
HEADER_PARSE_ERRORS = (ValueError, TypeError, IndexError, AttributeError)


class ComposeError(ValueError):
    """The request cannot be made into a message; the message names the field."""


def compose_message(sender: str, request: SendRequest, eight_bit: bool = False) -> EmailMessage:
    """Build the message `request` describes (its headers add or override fields).

    `eight_bit`: the body may be sent as 8bit (the server announced 8BITMIME).
    """
    message = EmailMessage(policy=POLICIES[eight_bit])
    message["From"] = sender
    message["To"] = request.to
    message["Subject"] = request.subject
    message["Date"] = format_datetime(localtime())
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    for name, value in request.headers.items():
        del message[name]
        try:
            message[name] = value
        except HEADER_PARSE_ERRORS as error:
            raise ComposeError(f"headers.{name}: cannot be a {name} header ({error})") from None
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
    except (*HEADER_PARSE_ERRORS, UnicodeError) as error:
        raise ComposeError(f"headers: {error}") from None

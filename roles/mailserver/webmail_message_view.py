# What the webmail shows of a stored message: headers decoded for display (RFC 2047),
# the text body decoded from its transfer encoding and charset, HTML parts as source
# text (the webmail never renders them), and the attachments by name, type and size.
#
# Parsing is lenient: a broken header or an unknown charset degrades to the raw text
# with replacement characters, never to an error, since any message a server accepted
# must be readable. Control characters in displayed text are shown as escapes (\x1b),
# so a header can never smuggle a terminal sequence or a line break into a listing.
from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import email.quoprimime
import email.utils
import re
from email.message import Message

from pydantic import BaseModel, Field

from roles.mailserver.storage import StoredMessage

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)[ \t]+(?==\?[^?\s]+\?[bBqQ]\?)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_FOLDING = re.compile(r"\r?\n[ \t]*")
HTML_TYPE = "text/html"


class MessageSummary(BaseModel):
    """One line of a folder's message list."""

    id: str
    uid: int
    size: int
    flags: list[str]  # Draft Flagged Passed Replied Seen Trashed
    sender: str = Field(serialization_alias="from")  # "from" in JSON
    to: str
    subject: str
    date: str


class AttachmentInfo(BaseModel):
    """An attachment of a message, without its content."""

    name: str
    type: str
    size: int


class MessageView(MessageSummary):
    """A whole message for reading: decoded headers, text body, HTML source, attachments."""

    cc: str
    message_id: str
    body: str  # the text/plain parts, decoded
    html: list[str]  # the source of each text/html part: shown escaped, never rendered
    attachments: list[AttachmentInfo]


def display_text(text: str) -> str:
    """`text` with every control character but TAB and LF shown as an escape."""
    return _CONTROL.sub(lambda found: ascii(found.group())[1:-1], text)


def decode_words(text: str) -> str:
    """`text` with its RFC 2047 encoded words decoded; a word that cannot be stays as is."""
    text = _BETWEEN_WORDS.sub(r"\1", text)  # space between encoded words is not text
    return _ENCODED_WORD.sub(_decoded_word, text)


def _decoded_word(word: re.Match[str]) -> str:
    charset, encoding, encoded = word.group(1).partition("*")[0], word.group(2), word.group(3)
    try:
        if encoding in "bB":
            data = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        else:
            data = email.quoprimime.header_decode(encoded).encode("latin-1")
        return data.decode(charset, "replace")
    except (binascii.Error, ValueError, LookupError):
        return word.group()


def decoded_header(message: Message, name: str) -> str:
    """A header's value for display: unfolded, RFC 2047 decoded, controls escaped."""
    values = [value for key, value in message.raw_items() if key.lower() == name.lower()]
    if not values:
        return ""
    # 8-bit header bytes (raw UTF-8, as SMTPUTF8 mailers write) come back as they were sent
    text = values[0].encode("ascii", "surrogateescape").decode("utf-8", "replace")
    raw = _FOLDING.sub(" ", text).strip()
    return display_text(decode_words(raw).replace("\r", " ").replace("\n", " "))


def parse(data: bytes) -> Message:
    """The message's structure (compat32: raw header values, lenient parsing)."""
    return email.parser.BytesParser(policy=email.policy.compat32).parsebytes(data)


def summary(stored: StoredMessage, message: Message) -> MessageSummary:
    """The list entry of a stored message."""
    return MessageSummary(
        id=stored.id, uid=stored.uid, size=stored.size, flags=sorted(stored.flags),
        sender=decoded_header(message, "From"), to=decoded_header(message, "To"),
        subject=decoded_header(message, "Subject"), date=decoded_header(message, "Date"),
    )


def part_text(part: Message) -> str:
    """A text part's content, decoded from its transfer encoding and charset."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    if charset in ("us-ascii", "ascii"):  # UTF-8 shows ASCII as it is, and 8-bit text too
        charset = "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:  # a charset Python does not know: show what can be shown
        return payload.decode("utf-8", "replace")


def _attachment_name(part: Message) -> str:
    name = part.get_filename() or part.get_param("name") or ""
    if isinstance(name, tuple):  # an RFC 2231 value with a charset
        name = email.utils.collapse_rfc2231_value(name)
    return display_text(decode_words(name))


def view(stored: StoredMessage, message: Message) -> MessageView:
    """The reading view of a stored message."""
    texts: list[str] = []
    html: list[str] = []
    attachments: list[AttachmentInfo] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        is_attachment = (part.get_content_disposition() == "attachment"
                         or bool(part.get_filename()))
        if not is_attachment and content_type == "text/plain":
            texts.append(part_text(part))
        elif not is_attachment and content_type == HTML_TYPE:
            html.append(part_text(part).replace("\r\n", "\n"))
        else:
            payload = part.get_payload(decode=True)
            attachments.append(AttachmentInfo(
                name=_attachment_name(part), type=content_type,
                size=len(payload) if isinstance(payload, bytes) else 0,
            ))
    listed = summary(stored, message)
    return MessageView(
        **listed.model_dump(), cc=decoded_header(message, "Cc"),
        message_id=decoded_header(message, "Message-ID"),
        body=display_text("\n".join(texts).replace("\r\n", "\n")), html=html,
        attachments=attachments,
    )

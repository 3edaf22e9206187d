# The wire contract between the controller and the user agents' control agents:
# what POST /send and POST /fetch take and answer. Defined once, here; the controller's
# routes and scenario actions send these models and the user agent validates them, so
# bad input is refused with a 422 naming the field before any mail program runs.
#
# Header text is what can become a header: no CR, LF or other control characters;
# non-ASCII is allowed (the user agent encodes it, RFC 2047). No string may hold a
# lone surrogate (JSON allows "\ud800"; no mail can carry it).
from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

SEND_PATH = "/send"
FETCH_PATH = "/fetch"

# RFC 5322 dot-atom local part, and a lab host name; ASCII only (no SMTPUTF8 in the lab).
ADDRESS_PATTERN = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$"
_ADDRESS = re.compile(ADDRESS_PATTERN)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # every C0 control but TAB, and DEL
_FIELD_NAME = re.compile(r"^[\x21-\x39\x3b-\x7e]+$")  # RFC 5322: printable ASCII but ':'
# The user agent builds the MIME structure itself; these cannot be set by hand.
RESERVED_HEADERS = frozenset({"content-type", "content-transfer-encoding", "mime-version"})


def _utf8(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("holds a lone surrogate (not a character)") from None
    return text


def _header_text(text: str) -> str:
    found = _CONTROL.search(_utf8(text))
    if found:
        raise ValueError(f"holds control character {found.group()!r} at {found.start()}; "
                         "a header value is one line of text")
    return text


def _header_name(name: str) -> str:
    if not _FIELD_NAME.match(name):
        raise ValueError(f"{name!r} is not a header field name (printable ASCII, no ':')")
    if name.lower() in RESERVED_HEADERS:
        raise ValueError(f"{name} is set by the user agent from the body and attachments")
    return name


def _address(text: str) -> str:
    if not _ADDRESS.match(_utf8(text)):
        raise ValueError(f"{text!r} is not one ASCII mail address local-part@domain "
                         "(no name, brackets, spaces or second address; the lab has no SMTPUTF8)")
    return text


def _body_text(text: str) -> str:
    if "\x00" in _utf8(text):
        raise ValueError("holds a NUL character, which mail cannot carry")
    return text


def _base64(data: str) -> str:
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not valid base64") from None
    return data


Address = Annotated[str, Field(max_length=254), AfterValidator(_address)]
HeaderText = Annotated[str, AfterValidator(_header_text), Field(max_length=998)]
HeaderName = Annotated[str, AfterValidator(_header_name)]
BodyText = Annotated[str, AfterValidator(_body_text)]
MimeType = Annotated[str, Field(pattern=r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$")]


class Attachment(BaseModel):
    """A file attached to a message: its name, MIME type and content in base64."""

    model_config = ConfigDict(extra="forbid")
    filename: HeaderText = Field(min_length=1)
    content_type: MimeType = "application/octet-stream"
    data: Annotated[str, AfterValidator(_base64)]

    def content(self) -> bytes:
        return base64.b64decode(self.data)


class SendRequest(BaseModel):
    """Make a user agent compose a message and submit it to its server."""

    model_config = ConfigDict(extra="forbid")
    to: Address
    subject: HeaderText = ""
    body: BodyText = ""
    headers: dict[HeaderName, HeaderText] = Field(default_factory=dict)
    attachments: list[Attachment] = Field(default_factory=list)


class SendResult(BaseModel):
    message_id: str
    server_reply: str
    raw: str  # the message exactly as submitted


class FetchRequest(BaseModel):
    """Make a user agent download its mail."""

    model_config = ConfigDict(extra="forbid")
    protocol: Literal["pop3"] = "pop3"
    delete: bool = False


class FetchResult(BaseModel):
    protocol: str
    messages: list[str]  # raw RFC 5322 text of each message fetched

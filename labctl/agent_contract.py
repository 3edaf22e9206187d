# The wire contract between the controller and the user agents' control agents:
# what POST /send and POST /fetch take and answer. Defined once, here; the controller's
# routes and scenario actions send these models and the user agent validates them, so
# bad input is refused with a 422 naming the field before any mail program runs.
#
# A fetch names its protocol: "pop3" (RETR, optionally DELE), "imap" (a folder, whole
# messages or their headers, one MIME part, a byte range, moving them afterwards,
# waiting for new mail with IDLE, listing the folders) or "http" (the webmail). Options a
# protocol cannot honour are refused naming the field (fetch_option_problem), for the
# API, the CLI and scenario files alike.
#
# Header text is what can become a header: no CR, LF or other control characters;
# non-ASCII is allowed (the user agent encodes it, RFC 2047). No string may hold a
# lone surrogate (JSON allows "\ud800"; no mail can carry it).
from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from labctl.model.topology import FETCH_PROTOCOLS as FETCH_PROTOCOLS
from labctl.model.topology import FetchProtocol as FetchProtocol

SEND_PATH = "/send"
FETCH_PATH = "/fetch"
SendVia = Literal["smtp", "webmail"]
MAX_IDLE_SECONDS = 300

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


def _one_line(text: str, why: str) -> str:
    found = _CONTROL.search(_utf8(text))
    if found:
        raise ValueError(f"holds control character {found.group()!r} at {found.start()}; {why}")
    return text


def _header_text(text: str) -> str:
    return _one_line(text, "a header value is one line of text")


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
    via: SendVia = "smtp"  # submission over SMTP, or the webmail's compose form


class SendResult(BaseModel):
    message_id: str
    server_reply: str
    raw: str  # the message exactly as submitted


def _folder_name(name: str) -> str:
    found = _CONTROL.search(_utf8(name))
    if found or not name.strip() or any(c in name for c in "*%"):
        raise ValueError(f"{name!r} is not a folder name (no control characters, '*' or '%')")
    return name


FolderName = Annotated[str, Field(max_length=200), AfterValidator(_folder_name)]
MimeSection = Annotated[str, Field(pattern=r"^[1-9][0-9]{0,3}(\.[1-9][0-9]{0,3}){0,9}$")]
ByteRange = tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=1)]]
IMAP_ONLY = ("headers_only", "part", "partial", "move_to", "idle_seconds", "list_folders")


class FetchOptions(BaseModel):
    """What to fetch and what to do with it; all but `delete` and `folder` need IMAP."""

    model_config = ConfigDict(extra="forbid")
    delete: bool = False  # POP3 DELE / IMAP \\Deleted + EXPUNGE / webmail delete
    folder: FolderName = "INBOX"
    headers_only: bool = False  # IMAP BODY.PEEK[HEADER]
    part: MimeSection | None = None  # a MIME section, e.g. "1" or "1.2": BODY.PEEK[1.2]
    partial: ByteRange | None = None  # (start, count): BODY.PEEK[...]<start.count>
    move_to: FolderName | None = None  # IMAP MOVE the fetched messages there
    idle_seconds: Annotated[float, Field(gt=0, le=MAX_IDLE_SECONDS)] | None = None
    list_folders: bool = False  # also answer the folders (IMAP LIST)


def fetch_option_problem(options: FetchOptions, protocol: str) -> str | None:
    """Why `options` cannot go with `protocol`, naming the field; None when they can."""
    if protocol != "imap":
        for name in IMAP_ONLY:
            if getattr(options, name) not in (None, False):
                return f"{name}: only with protocol imap, not {protocol}"
    if protocol == "pop3" and options.folder.upper() != "INBOX":
        return f"folder: POP3 reaches only INBOX, not {options.folder!r}; use protocol imap"
    if options.headers_only and options.part is not None:
        return "part: cannot be combined with headers_only (choose one)"
    if options.delete and options.move_to is not None:
        return "move_to: cannot be combined with delete (a moved message is not deleted)"
    return None


class FetchRequest(FetchOptions):
    """Make a user agent download its mail."""

    protocol: FetchProtocol = "pop3"

    @model_validator(mode="after")
    def _options_fit_protocol(self) -> FetchRequest:
        problem = fetch_option_problem(self, self.protocol)
        if problem:
            raise ValueError(problem)
        return self


class FetchResult(BaseModel):
    protocol: FetchProtocol
    messages: list[str]  # each message's raw text, or the header / part / range asked for
    folders: list[str] | None = None  # IMAP with list_folders: every folder's name


# A session typed by hand, as at telnet: the agent opens TCP from its own lab address to
# a mail server's SMTP port, sends each line and waits for the reply after each (after a
# 354, the message lines go out until the lone "." and only that line waits).
SMTP_SESSION_PATH = "/smtp-session"
MAX_SESSION_LINES = 500


def _session_line(text: str) -> str:
    return _one_line(text, "each line is sent as typed, ended by CRLF")


SessionLine = Annotated[str, AfterValidator(_session_line), Field(max_length=998)]


class SmtpSessionRequest(BaseModel):
    """Make an agent talk SMTP by hand to mail server `server` (a role name)."""

    model_config = ConfigDict(extra="forbid")
    server: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    lines: list[SessionLine] = Field(min_length=1, max_length=MAX_SESSION_LINES)


class SmtpExchange(BaseModel):
    """The lines sent at once (a command, or a message up to its ".") and the reply."""

    sent: list[str]
    reply: str  # the whole reply, its lines joined by "\n"; "" when the server closed


class SmtpSessionResult(BaseModel):
    greeting: str
    exchanges: list[SmtpExchange]

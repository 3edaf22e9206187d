# Every IMAP response maillab's server sends, in one place (as smtp_replies/pop3_replies).
#
# A Response is one line as the server writes it: tagged (the client's tag), untagged
# ("*") or a continuation request ("+"). Status responses (OK, NO, BAD, PREAUTH, BYE)
# come from a StatusTemplate: the status, an optional response code (RFC 3501 7.1,
# RFC 5530: "TRYCREATE", "UIDNEXT {uidnext}", ...) and the text, both with {named}
# placeholders; `.tagged(tag, ...)` answers a command, `.untagged(...)` is a `* ` line.
# Untagged data (`* 3 EXISTS`, `* 1 FETCH (...)`, `* LIST ...`) is built by the
# functions at the end from imap_values.encode, so response values are encoded once.
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from labctl.protocols.imap_values import Atom, ImapValue, encode, quoted_or_literal

UNTAGGED = "*"
CONTINUATION = "+"
STATUSES = frozenset({"OK", "NO", "BAD", "PREAUTH", "BYE"})


@dataclass(frozen=True)
class Response:
    """One server response: tag (or * or +), status ("" for data), response code, text."""

    tag: str
    status: str = ""
    code: str = ""  # without brackets: "UIDNEXT 5", "READ-ONLY"
    text: str = ""
    data: bytes = b""  # untagged data after "* " (may hold literals)

    def __post_init__(self) -> None:
        if self.status and self.status not in STATUSES:
            raise ValueError(f"not an IMAP status: {self.status!r}")

    def to_bytes(self) -> bytes:
        """The response as the server writes it, CRLF included."""
        if self.data:
            return b"".join((b"* ", self.data, b"\r\n"))  # one copy of a long message
        if self.tag == CONTINUATION:  # "+" SP (resp-text / base64): the SP stays
            return f"+ {self.text}".encode() + b"\r\n"
        words = [self.tag, self.status, f"[{self.code}]" if self.code else "", self.text]
        return " ".join(w for w in words if w).encode("utf-8") + b"\r\n"


@dataclass(frozen=True)
class StatusTemplate:
    """One catalogued status response: status, response code and text with placeholders."""

    status: str
    text: str
    code: str = ""

    def tagged(self, tag: str, **values: object) -> Response:
        """The response completing the command tagged `tag`."""
        return Response(tag, self.status, self.code.format(**values), self.text.format(**values))

    def untagged(self, **values: object) -> Response:
        """The response as an untagged `* STATUS ...` line."""
        return self.tagged(UNTAGGED, **values)


def continuation(text: str = "") -> Response:
    """A continuation request `+ text` (a SASL challenge is base64 text)."""
    return Response(CONTINUATION, text=text)


# Continuation requests the state machine steers by (imap_server.py).
READY_FOR_LITERAL = "Ready for literal data"
IDLING = "idling"

# Errors found by the state machine and the grammar (imap_server.py, imap_grammar.py).
SYNTAX_ERROR = StatusTemplate("BAD", "{reason}")
UNTAGGED_SYNTAX_ERROR = StatusTemplate("BAD", "no tag: {reason}")
LINE_TOO_LONG = StatusTemplate("BAD", "command line longer than {limit} octets")
COMMAND_TOO_LONG = StatusTemplate("BAD", "command text longer than {limit} octets")
UNKNOWN_COMMAND = StatusTemplate("BAD", "unknown command {name}")
NOT_IN_STATE = StatusTemplate("BAD", "{name} not allowed in the {state} state")
LITERAL_TOO_BIG = StatusTemplate(
    "NO", "literal of {size} octets exceeds the {limit}-octet limit for {name}", "TOOBIG")
NON_SYNC_LITERAL_TOO_BIG = StatusTemplate(
    "BYE", "non-synchronizing literal of {size} octets exceeds the {limit}-octet limit for {name}",
    "TOOBIG")
BAD_CHARSET = StatusTemplate("NO", "{reason}", "{code}")
EXPECTED_DONE = StatusTemplate("BAD", "expected DONE to end IDLE, got {line!r}")
AUTHENTICATE_CANCELLED = StatusTemplate("BAD", "AUTHENTICATE cancelled")
AUTHENTICATE_LINE_TOO_LONG = StatusTemplate("BAD", "AUTHENTICATE response longer than {limit}")

# The server's policy and connection handling.
GREETING = StatusTemplate("OK", "{hostname} IMAP4rev1 maillab ready", "CAPABILITY {capabilities}")
PREAUTH = StatusTemplate("PREAUTH", "logged in as {user}")
COMPLETED = StatusTemplate("OK", "{name} completed")
LOGGED_IN = StatusTemplate("OK", "logged in", "CAPABILITY {capabilities}")
LOGIN_FAILED = StatusTemplate("NO", "invalid user name or password", "AUTHENTICATIONFAILED")
LOGIN_NEEDS_TLS = StatusTemplate("NO", "LOGIN needs TLS first", "PRIVACYREQUIRED")
UNKNOWN_MECHANISM = StatusTemplate("NO", "SASL mechanism {mechanism} not supported", "CANNOT")
BEGIN_TLS = StatusTemplate("OK", "begin TLS negotiation now")
SELECTED_READ_WRITE = StatusTemplate("OK", "{name} completed", "READ-WRITE")
SELECTED_READ_ONLY = StatusTemplate("OK", "{name} completed", "READ-ONLY")
UIDVALIDITY = StatusTemplate("OK", "UIDs valid", "UIDVALIDITY {uidvalidity}")
UIDNEXT = StatusTemplate("OK", "predicted next UID", "UIDNEXT {uidnext}")
UNSEEN = StatusTemplate("OK", "message {number} is first unseen", "UNSEEN {number}")
PERMANENT_FLAGS = StatusTemplate("OK", "flags permitted", "PERMANENTFLAGS ({flags})")
NO_SUCH_MAILBOX = StatusTemplate("NO", "mailbox {mailbox} does not exist", "NONEXISTENT")
TRY_CREATE = StatusTemplate("NO", "mailbox {mailbox} does not exist", "TRYCREATE")
ALREADY_EXISTS = StatusTemplate("NO", "mailbox {mailbox} already exists", "ALREADYEXISTS")
CANNOT = StatusTemplate("NO", "{reason}", "CANNOT")
OVER_LIMIT = StatusTemplate("NO", "{reason}", "LIMIT")
IN_USE = StatusTemplate("NO", "{reason}", "INUSE")
ALERT = StatusTemplate("OK", "{text}", "ALERT")
APPENDED = StatusTemplate("OK", "APPEND completed", "APPENDUID {uidvalidity} {uid}")
COPIED = StatusTemplate("OK", "{name} completed", "COPYUID {uidvalidity} {source} {destination}")
MESSAGE_TOO_BIG = StatusTemplate("NO", "message larger than {limit} octets", "TOOBIG")
LOGGING_OUT = StatusTemplate("BYE", "{hostname} IMAP4rev1 server logging out")
SHUTTING_DOWN = StatusTemplate("BYE", "{reason}")
IDLE_TIMEOUT = StatusTemplate("BYE", "idle for too long, closing the connection")
TOO_MANY_CONNECTIONS = StatusTemplate("BYE", "too many connections, try again later",
                                      "UNAVAILABLE")


def untagged_data(*words: bytes) -> Response:
    """An untagged data response from already encoded words."""
    return Response(UNTAGGED, data=b" ".join(words))


def exists(count: int) -> Response:
    """`* n EXISTS`."""
    return untagged_data(encode(count), b"EXISTS")


def recent(count: int) -> Response:
    """`* n RECENT`."""
    return untagged_data(encode(count), b"RECENT")


def expunge(number: int) -> Response:
    """`* n EXPUNGE` (a sequence number)."""
    return untagged_data(encode(number), b"EXPUNGE")


def flags(names: Iterable[str]) -> Response:
    r"""`* FLAGS (\Seen \Answered ...)`."""
    return untagged_data(b"FLAGS", encode([Atom(name) for name in names]))


def capability(names: Iterable[str]) -> Response:
    """`* CAPABILITY IMAP4rev1 ...`."""
    return untagged_data(b"CAPABILITY", *(name.encode("ascii") for name in names))


def fetch(number: int, items: Sequence[tuple[str, ImapValue]]) -> Response:
    """`* n FETCH (NAME value ...)`; names as FetchItem.response_name() gives them."""
    body = b" ".join(name.encode("ascii") + b" " + encode(value) for name, value in items)
    return untagged_data(encode(number), b"FETCH", b"(" + body + b")")


def search(numbers: Iterable[int]) -> Response:
    """`* SEARCH 2 3 5` (numbers or UIDs)."""
    return untagged_data(b"SEARCH", *(encode(n) for n in numbers))


def list_entry(attributes: Iterable[str], delimiter: str | None, name: str,
               command: str = "LIST") -> Response:
    r"""`* LIST (\HasNoChildren) "/" INBOX` (or LSUB)."""
    return untagged_data(command.encode("ascii"), encode([Atom(a) for a in attributes]),
                         encode(delimiter), _mailbox(name))


def status(name: str, items: Sequence[tuple[str, int]]) -> Response:
    """`* STATUS mailbox (MESSAGES 3 UIDNEXT 7)`."""
    values: list[ImapValue] = []
    for item, value in items:
        values += [Atom(item), value]
    return untagged_data(b"STATUS", _mailbox(name), encode(values))


Namespace = Sequence[tuple[str, str | None]] | None  # (prefix, delimiter) pairs


def namespace(personal: Namespace, other_users: Namespace = None,
              shared: Namespace = None) -> Response:
    """`* NAMESPACE (("" "/")) NIL NIL` (RFC 2342)."""
    return untagged_data(b"NAMESPACE", *(
        encode(None if group is None else [list(pair) for pair in group])
        for group in (personal, other_users, shared)))


_ASTRING_ATOM = re.compile(r"[^(){ \x00-\x1f\x7f%*\"\\\x80-\U0010ffff]+")


def _mailbox(name: str) -> bytes:
    """A mailbox name as an atom when it can be one (as Dovecot sends it), else quoted."""
    if _ASTRING_ATOM.fullmatch(name) and name.upper() != "NIL":
        return name.encode("ascii")
    return quoted_or_literal(name.encode("utf-8"))

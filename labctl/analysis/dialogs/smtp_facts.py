# The grader's facts of an SMTP dialog: one SmtpTransaction per MAIL FROM ... end of data.
#
# The SMTP observer reports each command (with the address the server machine parsed),
# each message (DATA, un-dot-stuffed, or BDAT chunks) and each reply to the tracker; a
# transaction opens when MAIL FROM is accepted, collects the recipients accepted and
# refused, and is recorded when the message's end is answered (or the capture ends
# after the message with no reply: reply ""). RSET, HELO/EHLO and a new MAIL end an
# open transaction that sent no message, which is then not a transaction of the list.
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from labctl.analysis.dialog import SmtpTransaction
from labctl.protocols.errors import ProtocolError
from labctl.protocols.smtp_grammar import Reply, parse_path
from labctl.protocols.smtp_states import MESSAGE_END

# The first Message-ID and Subject fields of a header block, folded lines included
# (RFC 5322 2.2.3); values are unfolded and their white space collapsed.
_FIELDS = re.compile(rb"^(message-id|subject)[ \t]*:(.*(?:\r?\n[ \t].*)*)",
                     re.IGNORECASE | re.MULTILINE)
RESETS = frozenset({"RSET", "HELO", "EHLO"})


@dataclass
class _Open:
    mail_from: str
    accepted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    message: bytes | None = None
    chunks: list[bytes] = field(default_factory=list)


def lenient_address(argument: str, keyword: str) -> str:
    """The address in `FROM:<a@b> ...`, even when the server machine refused the line."""
    try:
        return parse_path(argument, keyword)[0]
    except ProtocolError:
        inside = argument.partition("<")[2].partition(">")[0]
        return inside or argument.partition(":")[2].strip()


def message_facts(message: bytes) -> tuple[str | None, str | None, str]:
    """(Message-ID, Subject, sha256 of the body after the header block) of a message."""
    end = message.find(b"\r\n\r\n")
    cut = end + 4 if end >= 0 else len(message)
    if message.startswith(b"\r\n"):
        cut = 2
    found: dict[bytes, str] = {}
    for name, value in _FIELDS.findall(message[:cut]):
        found.setdefault(name.lower(), " ".join(value.decode("utf-8", "replace").split()))
    body_sha256 = hashlib.sha256(memoryview(message)[cut:]).hexdigest()
    return found.get(b"message-id"), found.get(b"subject"), body_sha256


class TransactionTracker:
    """Follows MAIL/RCPT/message/reply and appends each finished SmtpTransaction to `out`."""

    def __init__(self, out: list[SmtpTransaction]) -> None:
        self.out = out
        self.current: _Open | None = None
        self.address = ""  # the address of the MAIL or RCPT awaiting its reply

    def command(self, verb: str, address: str | None, argument: str = "") -> None:
        """A command line was sent; MAIL and RCPT name their address."""
        if verb in ("MAIL", "RCPT"):
            keyword = "FROM" if verb == "MAIL" else "TO"
            self.address = address if address is not None else lenient_address(argument, keyword)

    def message(self, data: bytes) -> None:
        """The message sent after 354, dot-stuffing removed."""
        if self.current is not None:
            self.current.message = data

    def chunk(self, data: bytes, last: bool) -> None:
        """One BDAT chunk; the message is complete with the LAST one."""
        if self.current is not None:
            self.current.chunks.append(data)
            if last:
                self.current.message = b"".join(self.current.chunks)

    def reply(self, answered: str | None, reply: Reply) -> None:
        """The server answered `answered` (a verb, MESSAGE_END or None)."""
        ok = 200 <= reply.code < 300
        if answered == "MAIL" and ok:
            self.current = _Open(self.address)
        elif answered == "RCPT" and self.current is not None:
            (self.current.accepted if ok else self.current.refused).append(self.address)
        elif answered == MESSAGE_END:
            self.record(str(reply.code), ok)
        elif answered in RESETS and ok:
            self.current = None

    def finish(self) -> None:
        """The capture ended: a message sent but never answered is still a transaction."""
        self.record("", False)

    def record(self, code: str, accepted: bool) -> None:
        current, self.current = self.current, None
        if current is None or current.message is None:
            return
        message_id, subject, body_sha256 = message_facts(current.message)
        self.out.append(SmtpTransaction(
            current.mail_from, tuple(current.accepted), tuple(current.refused),
            len(current.message), message_id, subject, body_sha256, accepted, code))

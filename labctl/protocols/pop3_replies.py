# Every POP3 reply maillab's servers send, in one place (the SMTP twin: smtp_replies.py).
#
# A ReplyTemplate holds +OK/-ERR, the RFC 2449/3206 extended response code ("" for
# none; e.g. IN-USE, AUTH, SYS/TEMP) and the text with {named} placeholders. The state
# machine and the server policy build their replies here; tests compare against it.
from __future__ import annotations

from dataclasses import dataclass

from labctl.protocols.pop3_grammar import Reply


@dataclass(frozen=True)
class ReplyTemplate:
    """One catalogued POP3 reply: status, extended response code, text with placeholders."""

    ok: bool
    text: str
    code: str = ""

    def __call__(self, body: bytes | None = None, **values: object) -> Reply:
        """The reply with the placeholders filled in (and a multi-line body if given)."""
        return Reply(self.ok, self.text.format(**values), body, self.code)

    def to_bytes(self, body: bytes | None = None, **values: object) -> bytes:
        """The reply as sent on the wire (for tests and transcripts)."""
        return self(body, **values).to_bytes()


# Grammar and sequence errors found by the state machine (pop3_server.py).
LINE_TOO_LONG = ReplyTemplate(False, "command line longer than {limit} octets")
GRAMMAR_ERROR = ReplyTemplate(False, "{reason}")
UNKNOWN_COMMAND = ReplyTemplate(False, "unknown command {verb}")
SEND_USER_FIRST = ReplyTemplate(False, "send USER first")
NOT_BEFORE_LOGIN = ReplyTemplate(False, "{verb} not allowed before login (USER/PASS)")
ALREADY_LOGGED_IN = ReplyTemplate(False, "{verb} not allowed: already authenticated")
NEEDS_ARGUMENT = ReplyTemplate(False, "{verb} needs an argument")
ARGUMENT_COUNT = ReplyTemplate(
    False, "{verb} takes {low}-{high} message-number arguments, got {count}")
NOT_NUMBERS = ReplyTemplate(False, "{verb} arguments must be numbers of 1 to {digits} ASCII digits")
NO_ARGUMENTS = ReplyTemplate(False, "{verb} takes no arguments")
APOP_SYNTAX = ReplyTemplate(False, "APOP needs a mailbox name and a 32-digit hex digest")

# The server's policy (roles/mailserver/pop3_session.py) and connection handling.
GREETING = ReplyTemplate(True, "{hostname} POP3 maillab ready {timestamp}")
CAPABILITIES = ReplyTemplate(True, "Capability list follows")
UNEXPECTED_EVENT = ReplyTemplate(False, "unexpected event")
SEND_PASS = ReplyTemplate(True, "send PASS")
NOT_LOGGED_IN = ReplyTemplate(False, "{verb} not allowed before login")
LOGIN_FAILED = ReplyTemplate(False, "invalid user name or password", "AUTH")
APOP_ARGUMENTS = ReplyTemplate(False, "APOP takes a name and an MD5 digest")
MAILDROP_LOCKED = ReplyTemplate(
    False, "mailbox {address} is already in use by another POP3 session", "IN-USE")
MAILDROP_UNAVAILABLE = ReplyTemplate(False, "cannot open the mailbox, try again later",
                                     "SYS/TEMP")
TOO_MANY_CONNECTIONS = ReplyTemplate(False, "too many connections, try again later", "SYS/TEMP")
LOGGED_IN = ReplyTemplate(True, "maildrop has {count} messages ({octets} octets)")
DONE = ReplyTemplate(True, "")
STATUS = ReplyTemplate(True, "{count} {octets}")
LISTING = ReplyTemplate(True, "{count} messages")
NO_SUCH_MESSAGE = ReplyTemplate(False, "no message {number} (maildrop has {count})")
ALREADY_DELETED = ReplyTemplate(False, "message {number} already deleted")
MESSAGE_GONE = ReplyTemplate(False, "message {number} is no longer in the mailbox")
SCAN_LINE = ReplyTemplate(True, "{number} {size}")
UNIQUE_ID_LINE = ReplyTemplate(True, "{number} {uid}")
DELETED = ReplyTemplate(True, "message {number} deleted")
TOP_FOLLOWS = ReplyTemplate(True, "top of message follows")
MESSAGE_FOLLOWS = ReplyTemplate(True, "{size} octets")
SIGNING_OFF = ReplyTemplate(True, "{hostname} POP3 server signing off")
UPDATED = ReplyTemplate(True, "{hostname} POP3 server signing off ({deleted} messages deleted)")
NOT_ALL_DELETED = ReplyTemplate(False, "some deleted messages not removed ({failed})",
                                "SYS/TEMP")
READY_TO_START_TLS = ReplyTemplate(True, "begin TLS negotiation")

# Every SMTP reply maillab's servers send, in one place (as aiosmtpd's status codes).
#
# A ReplyTemplate holds the reply code, the RFC 3463 enhanced status code ("" where
# none belongs: greeting, HELO, 334, 354) and the text, with {named} placeholders
# where the text varies. The state machine and the server policy build their replies
# from here and the tests compare against the same entries, so a text changes once.
from __future__ import annotations

from dataclasses import dataclass

from labctl.protocols.smtp_grammar import Reply


@dataclass(frozen=True)
class ReplyTemplate:
    """One catalogued SMTP reply: code, enhanced status code, text with placeholders."""

    code: int
    status: str
    text: str

    def __call__(self, **values: object) -> Reply:
        """The reply with the placeholders filled in."""
        text = self.text.format(**values)
        return Reply.of(self.code, f"{self.status} {text}" if self.status else text)

    def to_bytes(self, **values: object) -> bytes:
        """The reply as sent on the wire (for tests and transcripts)."""
        return self(**values).to_bytes()


# Grammar and sequence errors found by the state machine (smtp_server.py, smtp_envelope.py).
LINE_TOO_LONG = ReplyTemplate(500, "5.5.6", "Line too long")
SYNTAX_UNRECOGNIZED = ReplyTemplate(500, "5.5.2", "Syntax error, command unrecognized")
COMMAND_UNRECOGNIZED = ReplyTemplate(500, "5.5.2", "Command unrecognized")
NOT_IMPLEMENTED = ReplyTemplate(502, "5.5.1", "{verb} not implemented")
BAD_SEQUENCE = ReplyTemplate(503, "5.5.1", "Bad sequence of commands")
SEND_HELLO_FIRST = ReplyTemplate(503, "5.5.1", "Send EHLO/HELO first")
SEND_EHLO_FIRST = ReplyTemplate(503, "5.5.1", "Send EHLO first")
NESTED_MAIL = ReplyTemplate(503, "5.5.1", "Nested MAIL command")
NEED_RCPT = ReplyTemplate(503, "5.5.1", "Need RCPT command")
AUTH_IN_TRANSACTION = ReplyTemplate(503, "5.5.1", "AUTH not allowed in a mail transaction")
STARTTLS_IN_TRANSACTION = ReplyTemplate(503, "5.5.1", "STARTTLS not allowed in a mail transaction")
SYNTAX_ERROR = ReplyTemplate(501, "5.5.4", "Syntax error: {reason}")
BAD_SENDER_SYNTAX = ReplyTemplate(501, "5.1.7", "Bad sender address syntax: {reason}")
BAD_RECIPIENT_SYNTAX = ReplyTemplate(501, "5.1.3", "Bad recipient address syntax: {reason}")
NON_ASCII_ADDRESS = ReplyTemplate(553, "5.6.7", "Non-ASCII {who} address: {hint}")
UNSUPPORTED_PARAMETER = ReplyTemplate(555, "5.5.4", "Unsupported parameter {name}")
MESSAGE_TOO_BIG = ReplyTemplate(552, "5.3.4", "Message size exceeds fixed limit")
DATA_LINE_TOO_LONG = ReplyTemplate(500, "5.5.6", "Message line longer than 1000 octets")
AUTH_LINE_TOO_LONG = ReplyTemplate(500, "5.5.6", "Authentication line too long")

# The server's policy (roles/mailserver/smtp_session.py) and connection handling.
GREETING = ReplyTemplate(220, "", "{hostname} ESMTP maillab")
HELLO = ReplyTemplate(250, "", "{hostname}")
IDLE_TIMEOUT = ReplyTemplate(421, "4.4.2", "Idle timeout, closing connection")
UNEXPECTED_EVENT = ReplyTemplate(451, "4.3.0", "Unexpected event")
AUTH_NOT_AVAILABLE = ReplyTemplate(
    502, "5.5.1", "AUTH not available on this port (use submission)")
ALREADY_AUTHENTICATED = ReplyTemplate(503, "5.5.1", "Already authenticated")
AUTH_MECHANISM_UNKNOWN = ReplyTemplate(504, "5.5.4", "Unrecognized authentication type {mechanism}")
AUTH_CHALLENGE = ReplyTemplate(334, "", "{challenge}")
NO_AUTH_IN_PROGRESS = ReplyTemplate(503, "5.5.1", "No authentication in progress")
AUTH_CANCELLED = ReplyTemplate(501, "5.7.0", "Authentication cancelled")
AUTH_BAD_BASE64 = ReplyTemplate(501, "5.5.2", "Cannot decode the base64 response")
AUTH_BAD_PLAIN = ReplyTemplate(
    501, "5.5.2", "PLAIN response must be authzid NUL user NUL password")
AUTH_FAILED = ReplyTemplate(535, "5.7.8", "Authentication credentials invalid")
AUTH_SUCCEEDED = ReplyTemplate(235, "2.7.0", "Authentication successful")
AUTH_REQUIRED = ReplyTemplate(530, "5.7.0", "Authentication required")
SENDER_OK = ReplyTemplate(250, "2.1.0", "Ok")
TOO_MANY_RECIPIENTS = ReplyTemplate(452, "4.5.3", "Too many recipients")
USER_UNKNOWN = ReplyTemplate(
    550, "5.1.1", "<{address}>: Recipient address rejected: User unknown in local recipient table")
RELAY_DENIED = ReplyTemplate(554, "5.7.1", "<{address}>: Relay access denied")
RECIPIENT_OK = ReplyTemplate(250, "2.1.5", "Ok")
LOCAL_ERROR = ReplyTemplate(451, "4.3.0", "Local error in processing, try again later")
QUEUED = ReplyTemplate(250, "2.0.0", "Ok: queued as {queue_id}")
START_MAIL_INPUT = ReplyTemplate(354, "", "End data with <CR><LF>.<CR><LF>")
OK = ReplyTemplate(250, "2.0.0", "Ok")
BYE = ReplyTemplate(221, "2.0.0", "Bye")
CANNOT_VRFY = ReplyTemplate(252, "2.5.2", "Cannot VRFY user, but will accept message")
HELP = ReplyTemplate(214, "2.0.0", "See RFC 5321")
READY_TO_START_TLS = ReplyTemplate(220, "2.0.0", "Ready to start TLS")
TLS_NOT_AVAILABLE = ReplyTemplate(454, "4.7.0", "TLS not available")
BAD_HELLO_DOMAIN = ReplyTemplate(
    501, "5.5.4", "Invalid EHLO/HELO domain (control or 8-bit characters)")
SENDER_NOT_OWNED = ReplyTemplate(
    553, "5.7.1", "<{address}>: Sender address rejected: not owned by user {owner}")
MAIL_LOOP = ReplyTemplate(554, "5.4.6", "Too many hops: mail forwarding loop detected")
TOO_MANY_AUTH_FAILURES = ReplyTemplate(
    421, "4.7.0", "Too many failed authentication attempts, closing")
SPF_FAILED = ReplyTemplate(550, "5.7.23", "SPF check failed: {comment}")
SPF_TEMPORARY_ERROR = ReplyTemplate(
    451, "4.7.24", "SPF check could not be done, try again later: {reason}")
DATA_NOT_ACCEPTED = ReplyTemplate(554, "5.5.1", "DATA not accepted")
TOO_MANY_CONNECTIONS = ReplyTemplate(421, "4.7.0", "Too many connections, try again later")

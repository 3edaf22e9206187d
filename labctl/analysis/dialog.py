# The one protocol model of a captured conversation: its dialog.
#
# A conversation's two byte streams are replayed through the protocol layer
# (labctl.protocols: the grammars and state machines the servers run, plus client-side
# tracking) into one Dialog. The dialog is kept on the Conversation and is the only
# thing the transcript, the problem notes, the reports and the scenario checks read:
# no other module re-reads a conversation's bytes to find commands or replies.
#
# A Dialog is protocol-neutral: an ordered list of Steps (commands, replies, message
# payloads, end markers, TLS) plus the facts a grader needs, one list per protocol
# (SMTP transactions, POP3 actions, IMAP actions, HTTP exchanges, DNS queries). Steps
# are in protocol order: a pipelined command comes before the reply it is answered by,
# and each reply is matched to its command (`Step.answers`).
from __future__ import annotations

from dataclasses import dataclass, field

# Step kinds
COMMAND = "command"  # a client command line (SMTP verb, POP3 verb, IMAP tagged command,
#                      HTTP request line, DNS question)
REPLY = "reply"  # a complete server reply (multi-line replies are one step)
PAYLOAD = "payload"  # content carried by the protocol: an SMTP message after 354 or a
#                      BDAT chunk, a POP3 RETR/TOP body, an IMAP literal, an HTTP body
END = "end"  # the end-of-data marker (SMTP/POP3 "."), kept because the lecture shows it
TLS = "tls"  # from here on the stream is TLS (after STARTTLS/STLS, or implicit TLS)
UNREADABLE = "unreadable"  # bytes the protocol does not allow here; `text` says why
CONTINUATION = "continuation"  # a client line inside a command's exchange, not a command
#                                of its own: a SASL response, IMAP IDLE's DONE

# Labels of CONTINUATION steps, the same in every protocol (text: the line as sent)
SASL_RESPONSE = "SASL response"  # after a SMTP 334, POP3 "+ " or IMAP "+" challenge
IDLE_DONE = "DONE"  # IMAP: the client ends IDLE (RFC 2177)


@dataclass(frozen=True)
class Step:
    """One step of a dialog, in protocol order."""

    from_client: bool
    kind: str  # COMMAND | REPLY | PAYLOAD | END | TLS | UNREADABLE | CONTINUATION
    label: str  # "EHLO", "MAIL FROM", "250", "message", ".", "RETR", "+OK", "FETCH",
    #             "GET", "200", "A mail.hamburger.edu"...
    text: str  # the command's argument or the reply's text (lines joined by "\n")
    timestamp: float  # capture time of the step's first byte
    code: str | None = None  # replies: "250", "+OK", "-ERR", "OK"/"NO"/"BAD", "200"
    answers: int | None = None  # replies: index in Dialog.steps of the command answered
    data: bytes = b""  # PAYLOAD only: the content as on the wire (dot-stuffed, CRLF)


@dataclass(frozen=True)
class SmtpTransaction:
    """One MAIL FROM ... end of data, as seen on the wire."""

    mail_from: str
    rcpt_to: tuple[str, ...]  # recipients the server accepted
    rcpt_refused: tuple[str, ...]  # recipients the server refused
    size: int  # octets of the message as sent (after un-dot-stuffing)
    message_id: str | None
    subject: str | None
    body_sha256: str  # hex digest of the message's body (after the header block)
    accepted: bool  # the reply to end of data was 2xx
    reply: str  # that reply's code ("250", "554"...; "" when none came)


@dataclass(frozen=True)
class Pop3Action:
    """One POP3 command that acts on the maildrop, and whether it succeeded."""

    verb: str  # RETR, TOP, DELE, RSET, UIDL, LIST, STAT...
    argument: str
    ok: bool


@dataclass(frozen=True)
class ImapAction:
    """One IMAP command and its tagged result."""

    command: str  # SELECT, CREATE, FETCH, UID FETCH, STORE, IDLE...
    arguments: str
    result: str  # OK | NO | BAD | "" (no tagged response seen)


@dataclass(frozen=True)
class PipelinedCommand:
    """A command the client sent before the reply to its previous command had come."""

    command: str  # its label: "RCPT TO", "LIST"
    after: str  # what the awaited reply answers: "MAIL FROM", "the server's greeting"
    pipelining_offered: bool  # the server had offered PIPELINING (SMTP EHLO, POP3 CAPA)
    allowed: bool  # offered, and the previous command is not one that must be waited for
    timestamp: float  # capture time of the command's first byte


@dataclass(frozen=True)
class HttpExchange:
    """One HTTP request and its response."""

    method: str
    target: str
    status: int | None  # None: no response seen
    request_body_size: int
    response_body_size: int


@dataclass(frozen=True)
class DnsQuery:
    """One DNS question and its answer."""

    name: str
    qtype: str  # "A", "MX", "TXT"...
    rcode: str | None  # "NOERROR", "NXDOMAIN"...; None: no answer seen
    answers: tuple[str, ...]  # answer records as text ("10 mail.hamburger.edu.")
    # additional records as text ("mail.hamburger.edu. A 198.18.2.26"): an MX answer
    # brings its host's address there, and a mail server may use it without asking again
    additional: tuple[str, ...] = ()


@dataclass
class Dialog:
    """Everything the protocol layer read from one conversation."""

    protocol: str  # SMTP | POP3 | IMAP | HTTP | DNS | TLS | unknown
    steps: list[Step] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what could not be read, and where
    tls_from: float | None = None  # capture time the stream turned to TLS, if it did
    pop3_reached_update: bool = False  # POP3: QUIT answered +OK after TRANSACTION
    bare_lf: list[str] = field(default_factory=list)  # SMTP: labels of client lines ended
    #                        by a LF alone ("message": lines of the content after 354)
    smtp: list[SmtpTransaction] = field(default_factory=list)
    pop3: list[Pop3Action] = field(default_factory=list)
    imap: list[ImapAction] = field(default_factory=list)
    http: list[HttpExchange] = field(default_factory=list)
    dns: list[DnsQuery] = field(default_factory=list)
    pipelined: list[PipelinedCommand] = field(default_factory=list)  # SMTP and POP3: each
    #                        client step sent before the reply it followed (allowed or not)

    def labels(self) -> list[str]:
        """Step labels in order, e.g. ["220", "EHLO", "250", "MAIL FROM", ...]."""
        return [step.label for step in self.steps]

    def payloads(self) -> list[bytes]:
        """The PAYLOAD steps' content in order (SMTP: the messages as on the wire)."""
        return [step.data for step in self.steps if step.kind == PAYLOAD]

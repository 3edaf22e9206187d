# The SMTP server's states and every way between them, as tables (h11's _state.py).
#
# Theory of operation
# -------------------
# A state changes only when the server sends a reply, never when a command arrives.
# The command (or marker) awaiting its reply is "pending"; send() looks up
# (state, pending, reply class) in TRANSITIONS and stays put when there is no entry.
# The reply class is the exact code for the codes that steer a dialog (220 to
# STARTTLS, 334 SASL challenge, 354 start mail input, 421 closing) and "2xx".."5xx"
# otherwise. ALLOWED says in which states a verb reaches the application at all;
# SEQUENCE_ERRORS picks the 503 reply for the verbs that arrive too early or late.
from __future__ import annotations

from enum import Enum

from labctl.protocols import smtp_replies as replies
from labctl.protocols.smtp_replies import ReplyTemplate


class SmtpState(Enum):
    GREETING = "greeting"  # connected (or TLS just started), no EHLO/HELO yet
    READY = "ready"  # after EHLO/HELO, no mail transaction
    MAIL = "mail"  # MAIL FROM accepted, no recipient yet
    RCPT = "rcpt"  # at least one RCPT TO accepted
    DATA = "data"  # reading the message text after 354
    AUTH = "auth"  # inside a SASL exchange after a 334
    CLOSED = "closed"  # after QUIT/221 or 421

    # Members are singletons compared by identity, so their hash can be the identity one:
    # every TRANSITIONS/ALLOWED look-up then hashes in C, not in Enum.__hash__.
    __hash__ = object.__hash__


G, R, M, T = SmtpState.GREETING, SmtpState.READY, SmtpState.MAIL, SmtpState.RCPT
D, A, CLOSED = SmtpState.DATA, SmtpState.AUTH, SmtpState.CLOSED
COMMAND_STATES = frozenset({G, R, M, T})
ANYTIME = frozenset({"NOOP", "RSET", "HELP", "VRFY", "EXPN", "QUIT"})
NOT_IMPLEMENTED = frozenset({"BDAT", "TURN", "ETRN", "ATRN", "SEND", "SOML", "SAML"})
ALLOWED: dict[str, frozenset[SmtpState]] = {
    "EHLO": COMMAND_STATES, "HELO": COMMAND_STATES,
    "MAIL": frozenset({R}), "RCPT": frozenset({M, T}), "DATA": frozenset({T}),
    "AUTH": frozenset({R}), "STARTTLS": frozenset({G, R}),
    **{verb: COMMAND_STATES for verb in ANYTIME},
}
SEQUENCE_ERRORS: dict[tuple[str, SmtpState], ReplyTemplate] = {
    ("MAIL", G): replies.SEND_HELLO_FIRST, ("AUTH", G): replies.SEND_EHLO_FIRST,
    ("MAIL", M): replies.NESTED_MAIL, ("MAIL", T): replies.NESTED_MAIL,
    ("DATA", M): replies.NEED_RCPT,
    ("AUTH", M): replies.AUTH_IN_TRANSACTION, ("AUTH", T): replies.AUTH_IN_TRANSACTION,
    ("STARTTLS", M): replies.STARTTLS_IN_TRANSACTION,
    ("STARTTLS", T): replies.STARTTLS_IN_TRANSACTION,
}

# Pending markers besides the verbs: what a reply answers when it answers no command.
NOTHING = "-"  # the greeting, or a notice such as the idle-timeout 421
AUTH_RESPONSE = "AUTH-RESPONSE"  # a client line inside a SASL exchange
MESSAGE_END = "MESSAGE"  # the complete DATA body
ERROR = "ERROR"  # a ProtocolErrorEvent
PENDING = frozenset(ALLOWED) | {NOTHING, AUTH_RESPONSE, MESSAGE_END, ERROR}

STEERING_CODES = frozenset({220, 334, 354, 421})
REPLY_CLASSES = ("2xx", "3xx", "4xx", "5xx", "220", "334", "354")  # all but "421"


def _reply_class(code: int) -> str:
    return str(code) if code in STEERING_CODES else f"{code // 100}xx"


_REPLY_CLASSES = {code: _reply_class(code) for code in range(200, 600)}  # every valid code


def reply_class(code: int) -> str:
    """The transition key of a reply code: itself when it steers the dialog, else "Nxx"."""
    return _REPLY_CLASSES.get(code) or _reply_class(code)


TRANSITIONS: dict[tuple[SmtpState, str, str], SmtpState] = {
    **{(s, verb, "2xx"): R for s in COMMAND_STATES for verb in ("EHLO", "HELO")},
    **{(s, "RSET", "2xx"): R for s in (R, M, T)},
    **{(s, "QUIT", "2xx"): CLOSED for s in COMMAND_STATES},
    (R, "MAIL", "2xx"): M, (M, "RCPT", "2xx"): T, (T, "RCPT", "2xx"): T, (T, "DATA", "354"): D,
    (R, "AUTH", "334"): A, (A, AUTH_RESPONSE, "334"): A,
    **{(A, AUTH_RESPONSE, kind): R for kind in REPLY_CLASSES if kind != "334"},
    **{(D, MESSAGE_END, kind): R for kind in REPLY_CLASSES},
    # RFC 3207: after 220 the client starts TLS and must say EHLO again.
    (G, "STARTTLS", "220"): G, (R, "STARTTLS", "220"): G,
    **{(s, p, "421"): CLOSED for s in SmtpState if s is not CLOSED for p in PENDING},
}
# Where each (pending, reply class) leads, whatever the state it came from (every entry of
# TRANSITIONS with the same pair has the same target). The analyzer follows an observed
# server with it when that server accepted what this one refuses (a DATA answered 354
# after a refused RCPT, a BDAT ... LAST chunk answered 250).
OBSERVED: dict[tuple[str, str], SmtpState] = {
    (pending, kind): target for (_, pending, kind), target in TRANSITIONS.items()}
# (pending, reply class) after which bytes the client sent ahead are thrown away unread.
DISCARDS_PIPELINED = frozenset({("STARTTLS", "220")})

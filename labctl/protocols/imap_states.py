# The IMAP server's states and every way between them, as tables (h11's _state.py).
#
# Theory of operation
# -------------------
# RFC 3501 section 3 has four session states; a state changes only when the server
# sends the tagged response completing a command (or an untagged PREAUTH greeting or a
# BYE), never when the command arrives: send() looks up (state, command, status) in
# TRANSITIONS and stays put without an entry. Inside one command the machine may wait
# for something else than a command line: that is the Phase. A continuation request
# (`+`) sent for the pending command moves to the phase CONTINUES gives (literal data,
# an AUTHENTICATE line, IDLE until DONE); the tagged response brings it back to COMMAND.
# ALLOWED says in which states a command reaches the application at all.
from __future__ import annotations

from enum import Enum


class ImapState(Enum):
    NOT_AUTHENTICATED = "not authenticated"
    AUTHENTICATED = "authenticated"
    SELECTED = "selected"
    LOGOUT = "logout"  # after BYE: the connection closes


class Phase(Enum):
    COMMAND = "command"  # reading command lines (and non-synchronizing literals)
    LITERAL = "literal"  # reading the octets of a literal the server said `+` to
    AUTHENTICATE = "authenticate"  # after a `+` challenge: one base64 line (or `*`)
    IDLE = "idle"  # after `+ idling`: only DONE is valid


N, A, S = ImapState.NOT_AUTHENTICATED, ImapState.AUTHENTICATED, ImapState.SELECTED
ANY_STATE = frozenset({N, A, S})
LOGGED_IN = frozenset({A, S})
ALLOWED: dict[str, frozenset[ImapState]] = {
    **{name: ANY_STATE for name in ("CAPABILITY", "NOOP", "LOGOUT")},
    **{name: frozenset({N}) for name in ("STARTTLS", "AUTHENTICATE", "LOGIN")},
    **{name: LOGGED_IN for name in (
        "SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE",
        "LIST", "LSUB", "STATUS", "APPEND", "IDLE", "NAMESPACE")},
    **{name: frozenset({S}) for name in (
        "CHECK", "CLOSE", "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY", "MOVE", "UNSELECT")},
}

# Pending markers besides command names: what a response answers when it answers none.
GREETING = "-"  # the greeting (OK or PREAUTH), or an unsolicited BYE
LITERAL = "LITERAL"  # a LiteralAwaited event
ERROR = "ERROR"  # a ProtocolErrorEvent

TRANSITIONS: dict[tuple[ImapState, str, str], ImapState] = {
    (N, GREETING, "PREAUTH"): A,
    (N, "LOGIN", "OK"): A, (N, "AUTHENTICATE", "OK"): A,
    **{(s, name, "OK"): S for s in LOGGED_IN for name in ("SELECT", "EXAMINE")},
    # RFC 3501 6.3.1: a failed SELECT in the selected state leaves no mailbox selected.
    **{(S, name, status): A for name in ("SELECT", "EXAMINE") for status in ("NO", "BAD")},
    (S, "CLOSE", "OK"): A, (S, "UNSELECT", "OK"): A,
    **{(s, "LOGOUT", "OK"): ImapState.LOGOUT for s in ANY_STATE},
}
# A BYE, tagged or untagged, in any state ends the session.
ENDS_SESSION = frozenset({"BYE"})
# The phase a continuation request sent for a pending command (or marker) opens.
CONTINUES: dict[str, Phase] = {
    LITERAL: Phase.LITERAL, "AUTHENTICATE": Phase.AUTHENTICATE, "IDLE": Phase.IDLE}
# (command, status) after which bytes the client sent ahead are thrown away unread.
DISCARDS_PIPELINED = frozenset({("STARTTLS", "OK")})

# IMAP4rev1 for maillab: one import for the grammar, the responses and the server machine.
#
#     from labctl.protocols import imap
#     imap.parse_command(b"A1 SELECT inbox\r\n")  # -> ImapCommand("A1", "SELECT", ...)
#     conn = imap.ServerConnection(); conn.receive_data(...); conn.next_event(); conn.send(...)
#     conn.send(imap.replies.COMPLETED.tagged("A1", name="NOOP"))  # -> b"A1 OK NOOP completed"
from __future__ import annotations

from labctl.protocols import imap_replies as replies
from labctl.protocols.imap_commands import (
    Append,
    Arguments,
    Authenticate,
    Copy,
    Fetch,
    ImapCommand,
    ListMailboxes,
    Login,
    Mailbox,
    Rename,
    Search,
    Status,
    Store,
    UidExpunge,
)
from labctl.protocols.imap_events import (
    NEED_DATA,
    AuthenticateResponse,
    ConnectionClosed,
    Event,
    IdleDone,
    ImapCommandReceived,
    LiteralAwaited,
    NeedData,
    ProtocolErrorEvent,
)
from labctl.protocols.imap_grammar import COMMANDS, parse_command, parse_head
from labctl.protocols.imap_replies import Response, StatusTemplate, continuation
from labctl.protocols.imap_server import (
    MAX_APPEND_SIZE,
    MAX_COMMAND_TEXT,
    MAX_LINE,
    MAX_LITERAL,
    ServerConnection,
)
from labctl.protocols.imap_states import ImapState, Phase
from labctl.protocols.imap_tokens import MAX_NESTING, CommandSyntaxError

__all__ = [
    "COMMANDS", "MAX_APPEND_SIZE", "MAX_COMMAND_TEXT", "MAX_LINE", "MAX_LITERAL", "MAX_NESTING",
    "NEED_DATA", "Append", "Arguments", "Authenticate", "AuthenticateResponse",
    "CommandSyntaxError", "ConnectionClosed", "Copy", "Event", "Fetch", "IdleDone",
    "ImapCommand", "ImapCommandReceived", "ImapState", "ListMailboxes", "LiteralAwaited",
    "Login", "Mailbox", "NeedData", "Phase", "ProtocolErrorEvent", "Rename", "Response",
    "Search", "ServerConnection", "Status", "StatusTemplate", "Store", "UidExpunge",
    "continuation", "parse_command", "parse_head", "replies",
]

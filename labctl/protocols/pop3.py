# POP3 for maillab: one import for the grammar, the events and the server state machine.
#
#     from labctl.protocols import pop3
#     pop3.parse_command(b"RETR 1\r\n")          # -> Command("RETR", "1")
#     pop3.parse_status_line(b"+OK 2 320\r\n")   # -> (True, "2 320")
from __future__ import annotations

from labctl.protocols import pop3_replies as replies
from labctl.protocols.errors import ProtocolError
from labctl.protocols.pop3_grammar import (
    Reply,
    parse_command,
    parse_status_line,
    split_response_code,
)
from labctl.protocols.pop3_server import Event, Pop3State, ServerConnection
from labctl.protocols.shared_events import (
    NEED_DATA,
    Command,
    CommandReceived,
    ConnectionClosed,
    NeedData,
    ProtocolErrorEvent,
)
from labctl.protocols.smtp_grammar import dot_stuff

__all__ = [
    "NEED_DATA", "Command", "CommandReceived", "ConnectionClosed", "Event", "NeedData",
    "Pop3State", "ProtocolError", "ProtocolErrorEvent", "Reply", "ServerConnection",
    "dot_stuff", "parse_command", "parse_status_line", "replies", "split_response_code",
]

# SMTP for maillab: one import for the grammar, the events and the server state machine.
#
#     from labctl.protocols import smtp
#     smtp.parse_command(b"MAIL FROM:<a@b>\r\n")       # -> Command("MAIL", "FROM:<a@b>")
#     smtp.parse_reply_line(b"250-mail.crepes.fr\r\n")  # -> (250, False, "mail.crepes.fr")
#     conn = smtp.ServerConnection(); conn.receive_data(...); conn.next_event(); conn.send(...)
from __future__ import annotations

from labctl.protocols import smtp_replies as replies
from labctl.protocols.errors import ProtocolError
from labctl.protocols.shared_events import (
    NEED_DATA,
    Command,
    CommandReceived,
    ConnectionClosed,
    NeedData,
    ProtocolErrorEvent,
)
from labctl.protocols.smtp_events import (
    AuthRequested,
    AuthResponse,
    Event,
    Hello,
    MailFrom,
    MessageReceived,
    RcptTo,
)
from labctl.protocols.smtp_grammar import (
    MAX_COMMAND_LINE,
    MAX_TEXT_LINE,
    Reply,
    address_problem,
    dot_stuff,
    parse_command,
    parse_path,
    parse_reply_line,
)
from labctl.protocols.smtp_server import ServerConnection
from labctl.protocols.smtp_states import SmtpState

__all__ = [
    "MAX_COMMAND_LINE", "MAX_TEXT_LINE", "NEED_DATA", "AuthRequested", "AuthResponse", "Command",
    "CommandReceived", "ConnectionClosed", "Event", "Hello", "MailFrom", "MessageReceived",
    "NeedData", "ProtocolError", "ProtocolErrorEvent", "RcptTo", "Reply", "ServerConnection",
    "SmtpState", "address_problem", "dot_stuff", "parse_command", "parse_path",
    "parse_reply_line", "replies",
]

# Minimal in-memory applications on the SMTP and POP3 machines, for the protocol tests:
# each feeds client bytes to a machine, answers every event and returns the server's bytes.
from __future__ import annotations

import base64
from typing import Any

from labctl.protocols import pop3, smtp
from labctl.protocols.shared_events import ConnectionClosed, NeedData

MAILBOX = [b"Subject: one\r\n\r\n.dot line\r\n", b"Subject: two\r\n\r\nbody\r\n"]


class MachineApp:
    """Feeds a server machine and answers each event with the subclass's answer()."""

    conn: Any  # an smtp or pop3 ServerConnection
    events: list[Any]

    def answer(self, event: Any) -> Any:
        raise NotImplementedError

    def feed(self, data: bytes) -> bytes:
        """Feed client bytes, answer every event, return what the server wrote."""
        self.conn.receive_data(data)
        out = b""
        while True:
            event = self.conn.next_event()
            if isinstance(event, NeedData | ConnectionClosed):
                return out
            self.events.append(event)
            out += self.conn.send(self.answer(event))


class EchoApp(MachineApp):
    """A minimal application: accepts everything, records messages, checks one password."""

    def __init__(self, max_message_size: int = 10_000) -> None:
        self.conn = smtp.ServerConnection(max_message_size=max_message_size)
        self.messages: list[bytes] = []
        self.events: list[smtp.Event] = []
        self.output = self.conn.send(smtp.Reply.of(220, "test ESMTP"))

    def state(self) -> smtp.SmtpState:
        return self.conn.state

    def answer(self, event: smtp.Event) -> smtp.Reply:
        match event:
            case smtp.ProtocolErrorEvent(reply=reply):
                return reply
            case smtp.Hello(extended=True):
                return smtp.Reply(250, ("test", "8BITMIME", "AUTH PLAIN"))
            case smtp.MessageReceived(data=data):
                self.messages.append(data)
                return smtp.Reply.of(250, "2.0.0 queued")
            case smtp.AuthRequested(initial_response=None):
                return smtp.Reply.of(334, "")
            case smtp.AuthRequested(initial_response=text) | smtp.AuthResponse(response=text):
                ok = base64.b64decode(text or "") == b"\0alice\0pw"
                return smtp.Reply.of(235 if ok else 535, "auth result")
            case smtp.CommandReceived(command=smtp.Command(verb="DATA")):
                return smtp.Reply.of(354, "go ahead")
            case smtp.CommandReceived(command=smtp.Command(verb="QUIT")):
                return smtp.Reply.of(221, "bye")
        return smtp.Reply.of(250, "OK")


class TinyPop3App(MachineApp):
    """A minimal application over a fixed two-message mailbox, password 'pw'."""

    def __init__(self) -> None:
        self.conn = pop3.ServerConnection()
        self.events: list[pop3.Event] = []
        self.deleted: set[int] = set()
        self.expunged: set[int] = set()

    def state(self) -> pop3.Pop3State:
        return self.conn.state

    def answer(self, event: pop3.Event) -> pop3.Reply:
        if isinstance(event, pop3.ProtocolErrorEvent):
            return event.reply
        assert isinstance(event, pop3.CommandReceived)
        verb, args = event.command.verb, event.command.arguments
        if verb == "PASS":
            return pop3.Reply(event.command.argument == "pw", "login")
        if verb == "RETR":
            return pop3.Reply(True, "follows", MAILBOX[int(args[0]) - 1])
        if verb == "DELE":
            self.deleted.add(int(args[0]))
        if verb == "QUIT" and self.conn.state is pop3.Pop3State.TRANSACTION:
            self.expunged = set(self.deleted)
        return pop3.Reply(True, "")

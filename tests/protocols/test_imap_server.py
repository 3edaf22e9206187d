# The IMAP server state machine joined in memory with a scripted client.
from __future__ import annotations

import base64

import pytest

from labctl.protocols import imap
from labctl.protocols.imap import replies

GOOD_PLAIN = base64.b64encode(b"\0alice\0pw").decode()


class TinyImapApp:
    """A minimal application: password 'pw', mailboxes INBOX and Sent, PLAIN login."""

    def __init__(self, **options: int | bool) -> None:
        self.conn = imap.ServerConnection(**options)  # type: ignore[arg-type]
        self.appended: list[bytes] = []
        self.events: list[imap.Event] = []
        self.refuse_literals = False

    def feed(self, data: bytes) -> bytes:
        """Feed client bytes, answer every event, return what the server wrote."""
        self.conn.receive_data(data)
        out = b""
        while True:
            event = self.conn.next_event()
            if isinstance(event, imap.NeedData | imap.ConnectionClosed):
                return out
            self.events.append(event)
            for response in self.answer(event):
                out += self.conn.send(response)

    def answer(self, event: imap.Event) -> list[imap.Response]:
        if isinstance(event, imap.ProtocolErrorEvent):
            return [event.reply]
        if isinstance(event, imap.LiteralAwaited):
            if self.refuse_literals:
                return [replies.CANNOT.tagged(event.tag, reason="no literals today")]
            return [imap.continuation(replies.READY_FOR_LITERAL)]
        if isinstance(event, imap.IdleDone):
            return [replies.COMPLETED.tagged(event.tag, name="IDLE")]
        if isinstance(event, imap.AuthenticateResponse):
            return [self._plain(event.tag, event.response)]
        assert isinstance(event, imap.ImapCommandReceived)
        return self.command(event.command)

    def _plain(self, tag: str, response: str) -> imap.Response:
        if response == "*":
            return replies.AUTHENTICATE_CANCELLED.tagged(tag)
        if response == GOOD_PLAIN:
            return replies.LOGGED_IN.tagged(tag, capabilities="IMAP4rev1")
        return replies.LOGIN_FAILED.tagged(tag)

    def command(self, command: imap.ImapCommand) -> list[imap.Response]:
        tag, name, args = command.tag, command.name, command.arguments
        done = replies.COMPLETED.tagged(tag, name=name)
        if isinstance(args, imap.Login):
            ok = args.password == "pw"
            return [done if ok else replies.LOGIN_FAILED.tagged(tag)]
        if isinstance(args, imap.Authenticate):
            if args.initial_response is None:
                return [imap.continuation()]
            return [self._plain(tag, args.initial_response)]
        if name in ("SELECT", "EXAMINE") and isinstance(args, imap.Mailbox):
            if args.mailbox not in ("INBOX", "Sent"):
                return [replies.NO_SUCH_MAILBOX.tagged(tag, mailbox=args.mailbox)]
            return [replies.flags(["\\Seen", "\\Deleted"]), replies.exists(len(self.appended)),
                    replies.UIDVALIDITY.untagged(uidvalidity=7),
                    replies.SELECTED_READ_WRITE.tagged(tag, name=name)]
        if isinstance(args, imap.Append):
            self.appended.append(args.message)
            return [replies.APPENDED.tagged(tag, uidvalidity=7, uid=len(self.appended))]
        if name == "IDLE":
            return [imap.continuation(replies.IDLING), replies.exists(3)]
        if name == "LOGOUT":
            return [replies.LOGGING_OUT.untagged(hostname="mail.hamburger.edu"), done]
        if name == "CAPABILITY":
            return [replies.capability(["IMAP4rev1", "LITERAL+", "IDLE", "AUTH=PLAIN"]), done]
        if name == "STARTTLS":
            return [replies.BEGIN_TLS.tagged(tag)]
        return [done]


def login(app: TinyImapApp) -> None:
    assert app.feed(b"a0 LOGIN alice pw\r\n") == b"a0 OK LOGIN completed\r\n"


def test_login_select_and_logout() -> None:
    app = TinyImapApp()
    assert app.conn.send(replies.GREETING.untagged(
        hostname="mail.hamburger.edu", capabilities="IMAP4rev1")) == (
        b"* OK [CAPABILITY IMAP4rev1] mail.hamburger.edu IMAP4rev1 maillab ready\r\n")
    assert app.feed(b"a1 LOGIN alice wrong\r\n") == (
        b"a1 NO [AUTHENTICATIONFAILED] invalid user name or password\r\n")
    assert app.conn.state is imap.ImapState.NOT_AUTHENTICATED
    login(app)
    assert app.conn.state is imap.ImapState.AUTHENTICATED
    assert app.feed(b"a2 select inbox\r\n") == (
        b"* FLAGS (\\Seen \\Deleted)\r\n* 0 EXISTS\r\n* OK [UIDVALIDITY 7] UIDs valid\r\n"
        b"a2 OK [READ-WRITE] SELECT completed\r\n")
    assert app.conn.state is imap.ImapState.SELECTED
    assert app.feed(b"a3 SELECT Nowhere\r\n").startswith(b"a3 NO [NONEXISTENT]")
    assert app.conn.state is imap.ImapState.AUTHENTICATED  # RFC 3501 6.3.1
    assert app.feed(b"a4 LOGOUT\r\n") == (
        b"* BYE mail.hamburger.edu IMAP4rev1 server logging out\r\na4 OK LOGOUT completed\r\n")
    assert app.conn.state is imap.ImapState.LOGOUT
    assert isinstance(app.conn.next_event(), imap.ConnectionClosed)


def test_state_refusals_come_from_the_table() -> None:
    app = TinyImapApp()
    assert app.feed(b"a1 SELECT INBOX\r\n") == (
        b"a1 BAD SELECT not allowed in the not authenticated state\r\n")
    assert app.feed(b"a2 FROB\r\n") == b"a2 BAD unknown command FROB\r\n"
    assert app.feed(b"a3 UID LOGIN x y\r\n") == b"a3 BAD unknown command UID LOGIN\r\n"
    login(app)
    assert app.feed(b"a4 FETCH 1 FLAGS\r\n") == (
        b"a4 BAD FETCH not allowed in the authenticated state\r\n")
    assert app.feed(b"a5 LOGIN alice pw\r\n").startswith(b"a5 BAD LOGIN not allowed")
    assert app.feed(b"\r\n") == b"* BAD expected a tag at offset 0, found '\\r\\n'\r\n"
    assert app.feed(b"a6 UID\r\n") == (
        b"a6 BAD expected SP at offset 6, found '\\r\\n'\r\n")


def test_syntax_errors_say_what_and_where() -> None:
    app = TinyImapApp()
    login(app)
    app.feed(b"s SELECT INBOX\r\n")
    assert app.feed(b"a1 FETCH 1 (FLAGS\r\n") == (
        b"a1 BAD expected SP or ')' at offset 17, found the end of the command\r\n")
    assert app.feed(b"a2 SEARCH CHARSET KOI8-R ALL\r\n") == (
        b"a2 NO [BADCHARSET (US-ASCII UTF-8)] charset KOI8-R is not supported\r\n")
    assert app.feed(b"a3 STORE 1 FLAGS.LOUD \\Seen\r\n").startswith(b"a3 BAD expected SP")


def test_append_with_a_synchronizing_literal() -> None:
    app = TinyImapApp()
    login(app)
    assert app.feed(b'a1 APPEND INBOX (\\Seen) {12}\r\n') == b"+ Ready for literal data\r\n"
    assert app.conn.phase is imap.Phase.LITERAL
    assert app.feed(b"Subject: x\r") == b""
    assert app.feed(b"\n\r\n") == b"a1 OK [APPENDUID 7 1] APPEND completed\r\n"
    assert app.appended == [b"Subject: x\r\n"]
    awaited = [e for e in app.events if isinstance(e, imap.LiteralAwaited)]
    assert awaited == [imap.LiteralAwaited("a1", "APPEND", 12)]


def test_literals_in_login_and_literal_plus() -> None:
    app = TinyImapApp()
    assert app.feed(b"a1 LOGIN {5+}\r\nalice {2}\r\n") == b"+ Ready for literal data\r\n"
    assert app.feed(b"pw\r\n") == b"a1 OK LOGIN completed\r\n"
    command = app.events[-1]
    assert isinstance(command, imap.ImapCommandReceived)
    assert command.command.arguments == imap.Login("alice", "pw")


def test_refused_literal_drops_the_command() -> None:
    app = TinyImapApp()
    login(app)
    app.refuse_literals = True
    assert app.feed(b"a1 APPEND INBOX {5}\r\n") == b"a1 NO [CANNOT] no literals today\r\n"
    app.refuse_literals = False
    assert app.feed(b"a2 NOOP\r\n") == b"a2 OK NOOP completed\r\n"  # read as a new command
    assert app.appended == []


def test_unknown_command_is_refused_before_its_literal() -> None:
    app = TinyImapApp()
    assert app.feed(b"a1 APPEND INBOX {5}\r\n") == (
        b"a1 BAD APPEND not allowed in the not authenticated state\r\n")
    assert not any(isinstance(e, imap.LiteralAwaited) for e in app.events)


def test_observing_a_refused_command_s_literal_follows_the_answer_given() -> None:
    conn = imap.ServerConnection(observing=True)
    conn.receive_data(b'a1 ID ("name" {4}\r\nmutt)\r\na2 NOOP\r\n')
    awaited = conn.next_event()
    assert awaited == imap.LiteralAwaited("a1", "ID", 4, replies.UNKNOWN_COMMAND.tagged(
        "a1", name="ID"))
    conn.send(imap.continuation("go on"))  # the observed server knew ID
    refused = conn.next_event()  # read through its literal, refused once complete
    assert isinstance(refused, imap.ProtocolErrorEvent) and refused.reply.tag == "a1"
    conn.send(refused.reply)
    noop = conn.next_event()
    assert isinstance(noop, imap.ImapCommandReceived) and noop.command.tag == "a2"
    conn.send(replies.COMPLETED.tagged("a2", name="NOOP"))
    conn.receive_data(b"a3 APPEND INBOX {5}\r\na4 NOOP\r\n")  # not allowed before login
    awaited = conn.next_event()
    assert isinstance(awaited, imap.LiteralAwaited) and awaited.refusal is not None
    conn.send(awaited.refusal)  # the observed server refused: the client sends no literal
    noop = conn.next_event()
    assert isinstance(noop, imap.ImapCommandReceived) and noop.command.tag == "a4"


def test_non_synchronizing_literal_of_a_refused_command_is_skipped() -> None:
    app = TinyImapApp()
    assert app.feed(b"a1 FROB {9+}\r\na2 NOOP\r\n\r\na3 NOOP\r\n") == (
        b"a1 BAD unknown command FROB\r\na3 OK NOOP completed\r\n")
    assert app.feed(b"+x {9+}\r\na4 NOOP\r\n\r\na5 NOOP\r\n") == (
        b"* BAD expected a tag at offset 0, found '+x {9+}\\r\\n'\r\n"
        b"a5 OK NOOP completed\r\n")
    assert app.feed(b"a6 {3}\r\n") == (
        b"a6 BAD expected a command name at offset 3, found '{3}\\r\\n'\r\n")


def test_oversized_literals_are_refused_without_allocation() -> None:
    app = TinyImapApp(max_append_size=1000)
    login(app)
    assert app.feed(b"a1 APPEND INBOX {2000000000}\r\n") == (
        b"a1 NO [TOOBIG] literal of 2000000000 octets exceeds the 1000-octet limit "
        b"for APPEND\r\n")
    assert app.feed(b"a2 LOGIN {70000}\r\n").startswith(b"a2 BAD LOGIN not allowed")
    assert app.feed(b"a3 CREATE {70000}\r\n").startswith(b"a3 NO [TOOBIG] literal of 70000")
    assert app.feed(b"a4 APPEND INBOX {2000+}\r\n" + b"x" * 100) == (
        b"* BYE [TOOBIG] non-synchronizing literal of 2000 octets exceeds the 1000-octet "
        b"limit for APPEND\r\n")
    assert app.conn.state is imap.ImapState.LOGOUT


def test_overlong_line_is_refused_and_the_rest_skipped() -> None:
    app = TinyImapApp()
    out = app.feed(b"a1 NOOP " + b"x" * (imap.MAX_LINE + 10))
    assert out == b"* BAD command line longer than 65536 octets\r\n"
    assert app.feed(b"yyy\r\na2 NOOP\r\n") == b"a2 OK NOOP completed\r\n"


def test_idle_until_done() -> None:
    app = TinyImapApp()
    login(app)
    assert app.feed(b"a1 IDLE\r\n") == b"+ idling\r\n* 3 EXISTS\r\n"
    assert app.conn.phase is imap.Phase.IDLE
    assert app.conn.send(replies.expunge(2)) == b"* 2 EXPUNGE\r\n"
    assert app.feed(b"DONE\r\n") == b"a1 OK IDLE completed\r\n"
    assert app.conn.phase is imap.Phase.COMMAND
    app.feed(b"a2 IDLE\r\n")
    assert app.feed(b"a3 NOOP\r\n") == b"a2 BAD expected DONE to end IDLE, got 'a3 NOOP'\r\n"
    assert app.conn.phase is imap.Phase.COMMAND


@pytest.mark.parametrize("initial", [True, False])
def test_authenticate_plain(initial: bool) -> None:
    app = TinyImapApp()
    if initial:
        out = app.feed(f"a1 AUTHENTICATE PLAIN {GOOD_PLAIN}\r\n".encode())
    else:
        assert app.feed(b"a1 AUTHENTICATE PLAIN\r\n") == b"+ \r\n"
        assert app.conn.phase is imap.Phase.AUTHENTICATE
        out = app.feed(GOOD_PLAIN.encode() + b"\r\n")
    assert out == b"a1 OK [CAPABILITY IMAP4rev1] logged in\r\n"
    assert app.conn.state is imap.ImapState.AUTHENTICATED


def test_authenticate_cancelled_with_a_star() -> None:
    app = TinyImapApp()
    app.feed(b"a1 AUTHENTICATE PLAIN\r\n")
    assert app.feed(b"*\r\n") == b"a1 BAD AUTHENTICATE cancelled\r\n"
    assert app.conn.state is imap.ImapState.NOT_AUTHENTICATED
    assert app.feed(b"a2 NOOP\r\n") == b"a2 OK NOOP completed\r\n"


def test_starttls_discards_pipelined_commands() -> None:
    app = TinyImapApp(starttls=True)
    out = app.feed(b"a1 STARTTLS\r\na2 LOGIN alice pw\r\n")
    assert out == b"a1 OK begin TLS negotiation now\r\n"
    assert app.conn.discarded_before_tls == b"a2 LOGIN alice pw\r\n"
    assert app.feed(b"a3 STARTTLS\r\n") == b"a3 BAD unknown command STARTTLS\r\n"
    assert TinyImapApp().feed(b"a1 STARTTLS\r\n") == b"a1 BAD unknown command STARTTLS\r\n"


def test_preauth_greeting_and_client_close() -> None:
    app = TinyImapApp()
    app.conn.send(replies.PREAUTH.untagged(user="bob"))
    assert app.conn.state is imap.ImapState.AUTHENTICATED
    app.conn.receive_data(b"")
    assert isinstance(app.conn.next_event(), imap.ConnectionClosed)


def test_misuse_of_the_machine_raises() -> None:
    conn = imap.ServerConnection()
    conn.receive_data(b"a1 NOOP\r\n")
    assert isinstance(conn.next_event(), imap.ImapCommandReceived)
    with pytest.raises(RuntimeError, match="before next_event"):
        conn.next_event()
    with pytest.raises(RuntimeError, match="no continuation"):
        conn.send(imap.continuation())
    with pytest.raises(RuntimeError, match="answers no pending"):
        conn.send(replies.COMPLETED.tagged("zz", name="NOOP"))
    assert conn.send(replies.COMPLETED.tagged("a1", name="NOOP")) == b"a1 OK NOOP completed\r\n"

# The mail server's POP3 policy: login against LAB.users and a mailbox snapshot.
#
# One Pop3Session per connection. At login the mailbox is listed once and numbered
# 1..n (RFC 1939 maildrop); DELE only marks, and the marked messages are removed
# from the Maildir when QUIT arrives in the TRANSACTION state (UPDATE).
from __future__ import annotations

import logging

from labctl.protocols import pop3
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.storage import Mailboxes, StoredMessage

log = logging.getLogger("mailserver")
CAPABILITIES = b"USER\r\nUIDL\r\nTOP\r\nPIPELINING\r\nIMPLEMENTATION maillab\r\n"


class Pop3Session:
    """Policy and maildrop for one POP3 connection."""

    def __init__(self, settings: MailServerSettings, peer: str, mailboxes: Mailboxes) -> None:
        self.settings, self.peer, self.mailboxes = settings, peer, mailboxes
        self.login = ""
        self.address: str | None = None
        self.maildrop: list[StoredMessage] = []
        self.deleted: set[int] = set()
        self.tls = False  # STLS accepted: the dialog continues over TLS

    def greeting(self) -> pop3.Reply:
        """The +OK banner."""
        return pop3.replies.GREETING(hostname=self.settings.hostname)

    def handle(self, event: pop3.Event, state: pop3.Pop3State) -> pop3.Reply:
        """The reply to one event, given the protocol state it arrived in."""
        if isinstance(event, pop3.ProtocolErrorEvent):
            return event.reply
        if not isinstance(event, pop3.CommandReceived):
            return pop3.replies.UNEXPECTED_EVENT()
        verb, args = event.command.verb, event.command.arguments
        if verb == "CAPA":
            stls = b"STLS\r\n" if self.settings.tls_dir is not None and not self.tls else b""
            return pop3.replies.CAPABILITIES(CAPABILITIES + stls)
        if verb == "STLS":
            self.tls = True
            return pop3.replies.READY_TO_START_TLS()
        if verb == "QUIT":
            return self._quit(state)
        if verb == "USER":
            self.login = event.command.argument
            return pop3.replies.SEND_PASS()
        if verb == "PASS":
            return self._pass(event.command.argument)
        if verb == "APOP":
            return pop3.replies.APOP_NOT_SUPPORTED()
        numbers = [int(a) for a in args]
        return self._transaction(verb, numbers)

    def _pass(self, password: str) -> pop3.Reply:
        user = self.settings.local_user(self.login)
        if user is None or user.password != password:
            log.info("pop3-auth-failed peer=%s login=%s", self.peer, self.login)
            return pop3.replies.LOGIN_FAILED()
        self.address = user.address
        self.maildrop = self.mailboxes.list(user.address)
        log.info("pop3-login peer=%s user=%s messages=%d", self.peer, user.address,
                 len(self.maildrop))
        return pop3.replies.LOGGED_IN(count=len(self.maildrop), octets=self._octets())

    def _live(self) -> list[tuple[int, StoredMessage]]:
        return [(n, m) for n, m in enumerate(self.maildrop, 1) if n not in self.deleted]

    def _octets(self) -> int:
        return sum(m.size for _, m in self._live())

    def _message(self, number: int) -> StoredMessage | None:
        if 1 <= number <= len(self.maildrop) and number not in self.deleted:
            return self.maildrop[number - 1]
        return None

    def _transaction(self, verb: str, numbers: list[int]) -> pop3.Reply:
        if verb == "NOOP":
            return pop3.replies.DONE()
        if verb == "RSET":
            self.deleted.clear()
            return pop3.replies.RESET(count=len(self.maildrop))
        if verb == "STAT":
            return pop3.replies.STATUS(count=len(self._live()), octets=self._octets())
        if not numbers and verb in ("LIST", "UIDL"):
            listing = [f"{n} {m.size if verb == 'LIST' else m.id}" for n, m in self._live()]
            body = "".join(f"{line}\r\n" for line in listing).encode("ascii")
            return pop3.replies.LISTING(body, count=len(listing))
        message = self._message(numbers[0])
        if message is None:
            return pop3.replies.NO_SUCH_MESSAGE(number=numbers[0])
        if verb == "LIST":
            return pop3.replies.SCAN_LINE(number=numbers[0], size=message.size)
        if verb == "UIDL":
            return pop3.replies.UNIQUE_ID_LINE(number=numbers[0], uid=message.id)
        if verb == "DELE":
            self.deleted.add(numbers[0])
            return pop3.replies.DELETED(number=numbers[0])
        data = self._read(message)
        if data is None:
            return pop3.replies.MESSAGE_GONE(number=numbers[0])
        if verb == "TOP":
            head, _, body = data.partition(b"\r\n\r\n")
            kept = b"\r\n".join(body.split(b"\r\n")[: numbers[1]])
            return pop3.replies.TOP_FOLLOWS(head + b"\r\n\r\n" + kept)
        return pop3.replies.MESSAGE_FOLLOWS(data, size=message.size)

    def _read(self, message: StoredMessage) -> bytes | None:
        try:
            return self.mailboxes.read(self.address or "", message.id)
        except KeyError:
            return None

    def _quit(self, state: pop3.Pop3State) -> pop3.Reply:
        if state is not pop3.Pop3State.TRANSACTION or self.address is None:
            return pop3.replies.SIGNING_OFF(hostname=self.settings.hostname)
        for number in sorted(self.deleted):
            message = self.maildrop[number - 1]
            try:
                self.mailboxes.delete(self.address, message.id)
            except KeyError:
                log.warning("pop3-delete-missing user=%s id=%s", self.address, message.id)
        log.info("pop3-update user=%s deleted=%d", self.address, len(self.deleted))
        left = len(self.maildrop) - len(self.deleted)
        return pop3.replies.UPDATED(left=left)

# The mail server's POP3 policy (RFC 1939, RFC 2449) on labctl.protocols.pop3's machine.
#
# One Pop3Session per connection. Login is USER/PASS or APOP against the lab's users
# (APOP's shared secret is the user's lab password; the greeting carries the
# <timestamp@host> it digests). A login takes the user's mailbox for this session
# only ([IN-USE] for a second one) and numbers its INBOX (pop3_maildrop.Maildrop);
# QUIT in TRANSACTION applies the deletions (UPDATE). close() gives the mailbox back
# however the connection ends. Failed logins say [AUTH] (RFC 3206).
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import time
from collections.abc import Callable

from labctl.protocols import pop3
from roles.mailserver.pop3_maildrop import Maildrop, MaildropLocks
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.storage import Mailboxes

log = logging.getLogger("mailserver")
CAPABILITIES = ("USER", "TOP", "UIDL", "PIPELINING", "RESP-CODES", "AUTH-RESP-CODE",
                "IMPLEMENTATION maillab")
DISK_COMMANDS = frozenset({"PASS", "APOP", "RETR", "TOP", "QUIT"})  # run off the event loop


class Pop3Session:
    """Policy and maildrop for one POP3 connection."""

    def __init__(self, settings: MailServerSettings, peer: str, mailboxes: Mailboxes,
                 locks: MaildropLocks) -> None:
        self.settings, self.peer, self.mailboxes, self.locks = settings, peer, mailboxes, locks
        self.timestamp = f"<{os.getpid()}.{time.time_ns()}.{secrets.token_hex(4)}" \
                         f"@{settings.hostname}>"
        self.login = ""
        self.maildrop: Maildrop | None = None
        self.tls = False  # STLS accepted: the dialog continues over TLS
        self._updating = False

    def needs_disk(self, event: pop3.Event) -> bool:
        """True for events whose handling touches the disk (run them in a worker thread):
        a RETR or TOP of a message read ahead does not."""
        if not isinstance(event, pop3.CommandReceived):
            return False
        verb, arguments = event.command.verb, event.command.arguments
        if verb in ("RETR", "TOP") and self.maildrop is not None and arguments \
                and arguments[0].isdigit():
            return not self.maildrop.has_read_ahead(int(arguments[0]))
        return verb in DISK_COMMANDS

    def greeting(self) -> pop3.Reply:
        """The +OK banner, with the APOP timestamp."""
        return pop3.replies.GREETING(hostname=self.settings.hostname, timestamp=self.timestamp)

    def handle(self, event: pop3.Event, state: pop3.Pop3State) -> pop3.Reply:
        """The reply to one event, given the protocol state it arrived in."""
        if isinstance(event, pop3.ProtocolErrorEvent):
            return event.reply
        if not isinstance(event, pop3.CommandReceived):
            return pop3.replies.UNEXPECTED_EVENT()
        verb, argument = event.command.verb, event.command.argument
        if verb == "CAPA":
            offered = [*CAPABILITIES, *(["STLS"] if self._offers_tls() else [])]
            return pop3.replies.CAPABILITIES("".join(f"{c}\r\n" for c in offered).encode())
        if verb == "STLS":
            self.tls = True
            return pop3.replies.READY_TO_START_TLS()
        if verb == "QUIT":
            return self._quit(state)
        if verb == "USER":
            self.login = argument
            return pop3.replies.SEND_PASS()
        if verb == "PASS":
            return self._login(self.login, lambda secret: hmac.compare_digest(
                secret.encode("utf-8"), argument.encode("utf-8")))
        if verb == "APOP":
            return self._apop(event.command.arguments)
        if self.maildrop is None:
            return pop3.replies.NOT_LOGGED_IN(verb=verb)
        try:
            return self._transaction(self.maildrop, verb, [int(a) for a in event.command.arguments])
        except KeyError as exc:  # the maildrop says why, as the -ERR reply to send
            reply: pop3.Reply = exc.args[0]
            return reply

    def _offers_tls(self) -> bool:
        return self.settings.tls_dir is not None and not self.tls

    def close(self) -> None:
        """The connection is gone: give the mailbox back (unless UPDATE still runs)."""
        if self.maildrop is not None and not self._updating:
            self.locks.release(self.maildrop.address)

    def _apop(self, arguments: list[str]) -> pop3.Reply:
        if len(arguments) != 2:
            return pop3.replies.APOP_ARGUMENTS()
        name, digest = arguments

        def matches(secret: str) -> bool:
            expected = hashlib.md5((self.timestamp + secret).encode("utf-8")).hexdigest()
            return hmac.compare_digest(expected, digest.lower())

        return self._login(name, matches)

    def _login(self, login: str, proves: Callable[[str], bool]) -> pop3.Reply:
        user = self.settings.local_user(login)
        if user is None or not proves(user.password):
            log.info("pop3-auth-failed peer=%s login=%s", self.peer, login)
            return pop3.replies.LOGIN_FAILED()
        if not self.locks.acquire(user.address):
            log.info("pop3-in-use peer=%s user=%s", self.peer, user.address)
            return pop3.replies.MAILDROP_LOCKED(address=user.address)
        try:
            self.maildrop = Maildrop(self.mailboxes, user.address)
        except OSError as exc:
            self.locks.release(user.address)
            log.error("pop3-maildrop-failed user=%s: %s", user.address, exc)
            return pop3.replies.MAILDROP_UNAVAILABLE()
        count, octets = len(self.maildrop.messages), self.maildrop.octets()
        log.info("pop3-login peer=%s user=%s messages=%d", self.peer, user.address, count)
        return pop3.replies.LOGGED_IN(count=count, octets=octets)

    def _transaction(self, maildrop: Maildrop, verb: str, numbers: list[int]) -> pop3.Reply:
        if verb == "NOOP":
            return pop3.replies.DONE()
        if verb == "RSET":
            maildrop.deleted.clear()
            return pop3.replies.LOGGED_IN(count=len(maildrop.messages), octets=maildrop.octets())
        if verb == "STAT":
            return pop3.replies.STATUS(count=len(maildrop.live()), octets=maildrop.octets())
        if verb in ("LIST", "UIDL") and not numbers:
            listing = [f"{n} {m.size if verb == 'LIST' else maildrop.unique_id(m)}"
                       for n, m in maildrop.live()]
            body = "".join(f"{line}\r\n" for line in listing).encode("ascii")
            return pop3.replies.LISTING(body, count=len(listing))
        number = numbers[0]
        message = maildrop.get(number)
        if verb == "LIST":
            return pop3.replies.SCAN_LINE(number=number, size=message.size)
        if verb == "UIDL":
            return pop3.replies.UNIQUE_ID_LINE(number=number, uid=maildrop.unique_id(message))
        if verb == "DELE":
            maildrop.deleted.add(number)
            return pop3.replies.DELETED(number=number)
        if verb == "TOP":
            data = maildrop.read(number, retrieve=False)
            return pop3.replies.TOP_FOLLOWS(top_of_message(data, numbers[1]))
        return pop3.replies.MESSAGE_FOLLOWS(maildrop.read(number), size=message.size)

    def _quit(self, state: pop3.Pop3State) -> pop3.Reply:
        hostname = self.settings.hostname
        maildrop = self.maildrop
        if state is not pop3.Pop3State.TRANSACTION or maildrop is None:
            return pop3.replies.SIGNING_OFF(hostname=hostname)
        self._updating = True
        try:
            failed = maildrop.update()
        finally:
            # the session gives the mailbox back here, once: close() then has none to free
            self.maildrop, self._updating = None, False
            self.locks.release(maildrop.address)
        if failed:
            return pop3.replies.NOT_ALL_DELETED(failed=failed)
        return pop3.replies.UPDATED(hostname=hostname, deleted=len(maildrop.deleted))


def top_of_message(data: bytes, body_lines: int) -> bytes:
    """The header, the blank line and the first `body_lines` lines of the body (RFC 1939 TOP)."""
    lines = data.splitlines(keepends=True)
    header_end = next((i for i, line in enumerate(lines) if line in (b"\r\n", b"\n")), len(lines))
    return b"".join(lines[: header_end + 1 + body_lines])

# Where an accepted message goes: local mailboxes or the outgoing queue; and bounces.
#
# MailRouter.accept() is called before the SMTP layer answers 250: it stores a copy
# in each local recipient's Maildir (with a Return-Path header: this is the final
# delivery) and one queue entry per remote domain (so each queue entry has exactly
# one destination server), all durably, then tells the relay (on_queued).
# postmaster@<our domain> (RFC 5321 4.5.1) is delivered to the first lab user of the
# domain, the lab's administrator. bounce() sends a DSN to the sender of a failed
# message: into a local mailbox or, for a remote sender, through the queue with a null
# sender; a message with a null sender is never bounced.
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from roles.mailserver.bounces import RecipientFailure, delivery_status_notification
from roles.mailserver.printable import printable
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.smtp_client import envelope_problem
from roles.mailserver.storage import INBOX, Mailboxes, OutgoingQueue, QueuedMessage

log = logging.getLogger("mailserver")
POSTMASTER = "postmaster"


class MailRouter:
    """Stores accepted messages: local delivery or queueing for relay."""

    def __init__(self, settings: MailServerSettings, queue: OutgoingQueue,
                 mailboxes: Mailboxes) -> None:
        self.settings = settings
        self.queue = queue
        self.mailboxes = mailboxes
        self.on_queued: Callable[[QueuedMessage], None] = lambda message: None

    def local_mailbox(self, address: str) -> str | None:
        """The mailbox a local address is delivered to (None: no such local user)."""
        user = self.settings.local_user(address)
        if user is not None:
            return user.address
        local_part, _, domain = address.lower().rpartition("@")
        users = self.settings.lab.users_of(self.settings.domain)
        if local_part == POSTMASTER and domain == self.settings.domain and users:
            return users[0].address
        return None

    def accept(self, mail_from: str, rcpt_tos: Sequence[str], data: bytes,
               queue_id: str | None = None, folder: str = INBOX,
               peer: str | None = None) -> list[str]:
        """Store the message for every recipient durably (local ones in `folder`); return
        the new ids.

        The first queue entry is named `queue_id` (the SMTP transaction's id, as in the
        Received header), further ones (other destination domains) `<queue_id>-2`, ...
        One log line per copy stored says what it is, and from which SMTP `peer`.
        """
        source = "" if peer is None else f" peer={peer}"
        ids: list[str] = []
        remote: dict[str, list[str]] = {}
        for rcpt in rcpt_tos:
            mailbox = self.local_mailbox(rcpt) if self.settings.is_local_domain(rcpt) else None
            if mailbox is not None:
                return_path = f"Return-Path: <{printable(mail_from)}>\r\n".encode("ascii")
                ids.append(self.mailboxes.deliver(mailbox, return_path + data, folder=folder))
                log.info("delivered id=%s from=<%s> to=<%s> size=%d folder=%s%s",
                         ids[-1], printable(mail_from), mailbox, len(data), folder, source)
            elif self.settings.is_local_domain(rcpt):
                raise ValueError(f"no local mailbox for <{printable(rcpt)}>")
            else:
                remote.setdefault(rcpt.rpartition("@")[2].lower(), []).append(rcpt)
        for n, domain_rcpts in enumerate(remote.values(), start=1):
            name = None if queue_id is None else queue_id if n == 1 else f"{queue_id}-{n}"
            queued = self.queue.enqueue(mail_from, domain_rcpts, data, name)
            ids.append(queued.id)
            log.info("queued id=%s from=<%s> to=%s size=%d%s", queued.id, printable(mail_from),
                     ",".join(f"<{printable(r)}>" for r in domain_rcpts), len(data), source)
            self.on_queued(queued)
        return ids

    def bounce(self, message: QueuedMessage, failures: Sequence[RecipientFailure]) -> None:
        """Send `message`'s sender a DSN for `failures` (never for a null sender)."""
        sender = message.mail_from
        if not sender:
            log.info("no bounce id=%s: null sender (a bounce is never bounced)", message.id)
            return
        unknown_local = self.settings.is_local_domain(sender) and not self.local_mailbox(sender)
        if envelope_problem(sender, [sender]) is not None or unknown_local:
            log.info("no bounce id=%s: sender <%s> is not a usable address",
                     message.id, printable(sender))
            return
        dsn = delivery_status_notification(self.settings.hostname, message, failures)
        (dsn_id,) = self.accept("", [sender], dsn)
        log.info("bounce id=%s for id=%s to=<%s> rcpts=%s", dsn_id, message.id, sender,
                 ",".join(f"<{printable(f.recipient)}>" for f in failures))

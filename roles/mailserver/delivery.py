# Where an accepted message goes: local mailboxes or the outgoing queue.
#
# MailRouter.accept() is called before the SMTP layer answers 250: it stores a copy
# in each local recipient's Maildir and one queue entry per remote domain (so each
# queue entry has exactly one destination server), all durably, then returns.
from __future__ import annotations

import logging
from collections.abc import Sequence
from email.utils import formatdate

from roles.mailserver.settings import MailServerSettings
from roles.mailserver.storage import INBOX, Mailboxes, OutgoingQueue

log = logging.getLogger("mailserver")


class MailRouter:
    """Stores accepted messages: local delivery or queueing for relay."""

    def __init__(self, settings: MailServerSettings, queue: OutgoingQueue,
                 mailboxes: Mailboxes) -> None:
        self.settings = settings
        self.queue = queue
        self.mailboxes = mailboxes

    def accept(self, mail_from: str, rcpt_tos: Sequence[str], data: bytes,
               folder: str | None = None) -> list[str]:
        """Store the message for every recipient durably (local ones: in `folder`, default
        the inbox); return the new ids."""
        ids: list[str] = []
        remote: dict[str, list[str]] = {}
        for rcpt in rcpt_tos:
            if self.settings.is_local_domain(rcpt):
                ids.append(self.mailboxes.deliver(rcpt.lower(), data, folder=folder or INBOX))
                log.info("delivered id=%s from=<%s> to=<%s> size=%d folder=%s",
                         ids[-1], mail_from, rcpt, len(data), folder or "inbox")
            else:
                remote.setdefault(rcpt.rpartition("@")[2].lower(), []).append(rcpt)
        for domain_rcpts in remote.values():
            queued = self.queue.enqueue(mail_from, domain_rcpts, data)
            ids.append(queued.id)
            log.info("queued id=%s from=<%s> to=%s size=%d",
                     queued.id, mail_from, ",".join(f"<{r}>" for r in domain_rcpts), len(data))
        return ids

    def bounce(self, mail_from: str, rcpt_tos: Sequence[str], error: str) -> None:
        """Tell a local sender that delivery to `rcpt_tos` failed for good (no-op otherwise)."""
        if not mail_from or self.settings.local_user(mail_from) is None:
            return
        host = self.settings.hostname
        text = (
            f"From: Mail Delivery System <MAILER-DAEMON@{host}>\r\n"
            f"To: <{mail_from}>\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            f"Date: {formatdate(localtime=True)}\r\n\r\n"
            f"Your message could not be delivered to {', '.join(rcpt_tos)}:\r\n{error}\r\n"
        )
        message_id = self.mailboxes.deliver(mail_from.lower(), text.encode("utf-8"))
        log.info("bounced id=%s to=<%s> rcpts=%s", message_id, mail_from, ",".join(rcpt_tos))

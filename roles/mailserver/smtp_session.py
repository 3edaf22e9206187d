# The mail server's SMTP policy: turns protocol events into replies (aiosmtpd-like hooks).
#
# One SmtpSession per connection, for either service: "smtp" (port 25: mail for our
# own users and postmaster, no AUTH; relaying only for the server's own LAN when
# LabOptions.trust_lan is on) or "submission" (port 587: AUTH PLAIN/LOGIN required
# before MAIL, any recipient, and with LabOptions.sender_login_match the envelope
# sender must be the logged-in user). A connection may carry several transactions.
# The grammar and the command sequence are checked by labctl.protocols.smtp; this
# module decides what to accept. Names and addresses with control characters are
# refused here, so they never reach a header or a log line.
from __future__ import annotations

import logging

from labctl.model import MGMT
from labctl.protocols import smtp
from roles.mailserver.delivery import MailRouter
from roles.mailserver.message_headers import (
    header_names,
    message_id_header,
    protocol_name,
    received_header,
)
from roles.mailserver.message_ids import new_message_name
from roles.mailserver.printable import is_printable_ascii, printable
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.smtp_auth import SmtpAuth
from roles.mailserver.spf_policy import evaluate_blocking
from roles.mailserver.storage import INBOX

log = logging.getLogger("mailserver")


class SmtpSession:
    """Policy for one SMTP connection: who may send what to whom."""

    def __init__(self, settings: MailServerSettings, service: str, peer: str,
                 router: MailRouter) -> None:
        self.settings, self.service, self.peer, self.router = settings, service, peer, router
        self.helo = ""
        self.extended = False
        self.tls = False  # set by the STARTTLS layer once the connection is encrypted
        self.auth = SmtpAuth(settings, peer)
        self.mail_from: str | None = None
        self.rcpt_tos: list[str] = []
        self.transaction_id = ""

    @property
    def authenticated_as(self) -> str | None:
        return self.auth.authenticated_as

    def greeting(self) -> smtp.Reply:
        """The 220 banner."""
        return smtp.replies.GREETING(hostname=self.settings.hostname)

    def handle(self, event: smtp.Event) -> smtp.Reply:
        """The reply to one event from the protocol machine."""
        match event:
            case smtp.ProtocolErrorEvent(reply=reply, reason=reason):
                log.info("protocol-error peer=%s service=%s %s", self.peer, self.service,
                         printable(reason))
                return reply
            case smtp.Hello():
                return self._hello(event)
            case smtp.AuthRequested():
                if self.service != "submission":
                    return smtp.replies.AUTH_NOT_AVAILABLE()
                return self.auth.start(event)
            case smtp.AuthResponse():
                return self.auth.respond(event)
            case smtp.MailFrom(address=address):
                return self._mail_from(address)
            case smtp.RcptTo(address=address):
                return self._rcpt_to(address)
            case smtp.MessageReceived(data=data):
                return self._message(data)
            case smtp.CommandReceived(command=command):
                return self._simple_command(command)
        return smtp.replies.UNEXPECTED_EVENT()

    def _reset(self) -> None:
        self.mail_from, self.rcpt_tos = None, []

    def _hello(self, event: smtp.Hello) -> smtp.Reply:
        if not is_printable_ascii(event.domain):
            log.info("bad-helo peer=%s helo=%s", self.peer, printable(event.domain))
            return smtp.replies.BAD_HELLO_DOMAIN()
        self._reset()
        self.helo, self.extended = event.domain, event.extended
        if not event.extended:
            return smtp.replies.HELLO(hostname=self.settings.hostname)
        lines = [self.settings.hostname, "PIPELINING", f"SIZE {self.settings.max_message_size}",
                 "8BITMIME", "ENHANCEDSTATUSCODES"]
        if self.service == "submission":
            lines.append("AUTH PLAIN LOGIN")
        if self.settings.tls_dir is not None and not self.tls:
            lines.append("STARTTLS")
        return smtp.Reply(250, tuple(lines))

    def _mail_from(self, address: str) -> smtp.Reply:
        if self.service == "submission" and not self.authenticated_as:
            return smtp.replies.AUTH_REQUIRED()
        # the grammar refused control and 8-bit characters in the address already
        owner = self.authenticated_as
        if (self.service == "submission" and self.settings.options.sender_login_match
                and owner is not None and address.lower() != owner):
            return smtp.replies.SENDER_NOT_OWNED(address=address, owner=owner)
        self._reset()
        self.mail_from = address
        self.transaction_id = new_message_name()
        return smtp.replies.SENDER_OK()

    def _rcpt_to(self, address: str) -> smtp.Reply:
        if len(self.rcpt_tos) >= self.settings.max_recipients:
            return smtp.replies.TOO_MANY_RECIPIENTS()
        if self.settings.is_local_domain(address):
            if self.router.local_mailbox(address) is None:
                return smtp.replies.USER_UNKNOWN(address=address)
        elif not (self.authenticated_as or self._trusted_lan()):
            return smtp.replies.RELAY_DENIED(address=address)
        self.rcpt_tos.append(address)
        return smtp.replies.RECIPIENT_OK()

    def _trusted_lan(self) -> bool:
        """Port 25 from the server's own LAN, with LabOptions.trust_lan on."""
        if not self.settings.options.trust_lan or self.service != "smtp":
            return False
        return self.settings.addressing.network_of(self.peer) in lan_networks(self.settings)

    def _message(self, data: bytes) -> smtp.Reply:
        mail_from, rcpt_tos, queue_id = self.mail_from or "", list(self.rcpt_tos), \
            self.transaction_id
        self._reset()
        names = header_names(data)
        hops = names.count(b"received")
        if hops > self.settings.max_received_headers:
            log.info("mail-loop peer=%s from=<%s> received=%d", self.peer, mail_from, hops)
            return smtp.replies.MAIL_LOOP()
        # SPF (spf_policy.py, by the lab's spf option); blocking: DATA runs in a worker thread.
        spf = evaluate_blocking(self.settings, self.service, self.authenticated_as is not None,
                                self.peer, self.helo, mail_from)
        if spf.reply is not None:
            log.info("spf-refused peer=%s from=<%s> %s", self.peer, printable(mail_from),
                     spf.reply.text)
            return spf.reply
        protocol = protocol_name(self.extended, self.tls, self.authenticated_as is not None)
        added = received_header(self.helo, self.peer, self.settings.hostname, protocol,
                                queue_id, rcpt_tos)
        if self.service == "submission" and b"message-id" not in names:
            added += message_id_header(queue_id, self.settings.hostname)
        try:
            # logs one line per copy stored (delivered or queued), naming the peer
            self.router.accept(mail_from, rcpt_tos, spf.header + added + data, queue_id,
                               spf.folder or INBOX, self.peer)
        except (OSError, ValueError) as exc:
            log.error("store-failed from=<%s> error=%s", mail_from, exc)
            return smtp.replies.LOCAL_ERROR()
        return smtp.replies.QUEUED(queue_id=queue_id)

    def _starttls(self) -> smtp.Reply:
        """Accept STARTTLS: the dialog starts over, nothing said before TLS counts (RFC 3207)."""
        self._reset()
        self.helo, self.extended, self.tls = "", False, True
        self.auth = SmtpAuth(self.settings, self.peer)
        return smtp.replies.READY_TO_START_TLS()

    def _simple_command(self, command: smtp.Command) -> smtp.Reply:
        verb = command.verb
        if verb == "STARTTLS":
            return self._starttls()
        if verb == "DATA":
            return smtp.replies.START_MAIL_INPUT()
        if verb == "RSET":
            self._reset()
            return smtp.replies.OK()
        if verb == "QUIT":
            return smtp.replies.BYE()
        if verb == "VRFY":
            return smtp.replies.CANNOT_VRFY()
        if verb == "HELP":
            return smtp.replies.HELP()
        if verb == "EXPN":
            return smtp.replies.NOT_IMPLEMENTED(verb="EXPN")
        return smtp.replies.OK()


def lan_networks(settings: MailServerSettings) -> set[str]:
    """The server's LAN(s): its lab networks that no other mail server is attached to."""
    others = {n for r in settings.lab.mail_servers() if r.name != settings.role
              for n in r.networks}
    return {n for n in settings.lab_role.networks if n != MGMT and n not in others}

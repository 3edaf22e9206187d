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
        return smtp.Reply.of(220, f"{self.settings.hostname} ESMTP maillab")

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
                    return smtp.Reply.of(502, "5.5.1 AUTH not available on this port "
                                              "(use submission)")
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
        return smtp.Reply.of(451, "4.3.0 Unexpected event")

    def _reset(self) -> None:
        self.mail_from, self.rcpt_tos = None, []

    def _hello(self, event: smtp.Hello) -> smtp.Reply:
        if not is_printable_ascii(event.domain):
            log.info("bad-helo peer=%s helo=%s", self.peer, printable(event.domain))
            return smtp.Reply.of(501, "5.5.4 Invalid EHLO/HELO domain (control or 8-bit "
                                      "characters)")
        self._reset()
        self.helo, self.extended = event.domain, event.extended
        if not event.extended:
            return smtp.Reply.of(250, self.settings.hostname)
        lines = [self.settings.hostname, "PIPELINING", f"SIZE {self.settings.max_message_size}",
                 "8BITMIME", "ENHANCEDSTATUSCODES"]
        if self.service == "submission":
            lines.append("AUTH PLAIN LOGIN")
        return smtp.Reply(250, tuple(lines))

    def _mail_from(self, address: str) -> smtp.Reply:
        if self.service == "submission" and not self.authenticated_as:
            return smtp.Reply.of(530, "5.7.0 Authentication required")
        refusal = _address_refusal(address, "5.1.7", "sender")
        if refusal is not None:
            log.info("bad-sender peer=%s from=<%s>", self.peer, printable(address))
            return refusal
        owner = self.authenticated_as
        if (self.service == "submission" and self.settings.options.sender_login_match
                and owner is not None and address.lower() != owner):
            return smtp.Reply.of(553, f"5.7.1 <{address}>: Sender address rejected: "
                                      f"not owned by user {owner}")
        self._reset()
        self.mail_from = address
        self.transaction_id = new_message_name()
        return smtp.Reply.of(250, "2.1.0 Ok")

    def _rcpt_to(self, address: str) -> smtp.Reply:
        refusal = _address_refusal(address, "5.1.3", "recipient")
        if refusal is not None:
            return refusal
        if len(self.rcpt_tos) >= self.settings.max_recipients:
            return smtp.Reply.of(452, "4.5.3 Too many recipients")
        if self.settings.is_local_domain(address):
            if self.router.local_mailbox(address) is None:
                return smtp.Reply.of(550, f"5.1.1 <{address}>: Recipient address rejected: "
                                          "User unknown in local recipient table")
        elif not (self.authenticated_as or self._trusted_lan()):
            return smtp.Reply.of(554, f"5.7.1 <{address}>: Relay access denied")
        self.rcpt_tos.append(address)
        return smtp.Reply.of(250, "2.1.5 Ok")

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
            return smtp.Reply.of(554, "5.4.6 Too many hops: mail forwarding loop detected")
        protocol = protocol_name(self.extended, self.tls, self.authenticated_as is not None)
        added = received_header(self.helo, self.peer, self.settings.hostname, protocol,
                                queue_id, rcpt_tos)
        if self.service == "submission" and b"message-id" not in names:
            added += message_id_header(queue_id, self.settings.hostname)
        try:
            ids = self.router.accept(mail_from, rcpt_tos, added + data, queue_id)
        except (OSError, ValueError) as exc:
            log.error("store-failed from=<%s> error=%s", mail_from, exc)
            return smtp.Reply.of(451, "4.3.0 Local error in processing, try again later")
        log.info("accepted peer=%s from=<%s> to=%s ids=%s", self.peer, mail_from,
                 ",".join(f"<{r}>" for r in rcpt_tos), ",".join(ids))
        return smtp.Reply.of(250, f"2.0.0 Ok: queued as {queue_id}")

    def _simple_command(self, command: smtp.Command) -> smtp.Reply:
        verb = command.verb
        if verb == "DATA":
            return smtp.Reply.of(354, "End data with <CR><LF>.<CR><LF>")
        if verb == "RSET":
            self._reset()
            return smtp.Reply.of(250, "2.0.0 Ok")
        if verb == "QUIT":
            return smtp.Reply.of(221, "2.0.0 Bye")
        if verb == "VRFY":
            return smtp.Reply.of(252, "2.5.2 Cannot VRFY user, but will accept message")
        if verb == "HELP":
            return smtp.Reply.of(214, "2.0.0 See RFC 5321")
        if verb == "EXPN":
            return smtp.Reply.of(502, "5.5.1 EXPN not implemented")
        return smtp.Reply.of(250, "2.0.0 Ok")


def lan_networks(settings: MailServerSettings) -> set[str]:
    """The server's LAN(s): its lab networks that no other mail server is attached to."""
    others = {n for r in settings.lab.mail_servers() if r.name != settings.role
              for n in r.networks}
    return {n for n in settings.lab_role.networks if n != MGMT and n not in others}


def _address_refusal(address: str, status: str, role: str) -> smtp.Reply | None:
    """A refusal for an address with control or 8-bit characters (no SMTPUTF8 here)."""
    if is_printable_ascii(address):
        return None
    if address.isprintable():
        return smtp.Reply.of(553, f"5.6.7 Non-ASCII {role} address needs SMTPUTF8, "
                                  "which this server does not offer")
    return smtp.Reply.of(501, f"{status} Control characters in the {role} address")

# The mail server's SMTP policy: turns protocol events into replies (aiosmtpd-like hooks).
#
# One SmtpSession per connection, for either service: "smtp" (port 25, mail for our
# own users only, no relay, no AUTH) or "submission" (port 587, AUTH PLAIN/LOGIN
# required before MAIL, any recipient). The grammar and the command sequence are
# checked by labctl.protocols.smtp; this module only decides what to accept.
from __future__ import annotations

import base64
import binascii
import logging
from email.utils import formatdate

from labctl.protocols import smtp
from roles.mailserver.delivery import MailRouter
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.spf_policy import evaluate_blocking

log = logging.getLogger("mailserver")
MAX_RECIPIENTS = 100
LOGIN_USERNAME, LOGIN_PASSWORD = "VXNlcm5hbWU6", "UGFzc3dvcmQ6"  # base64 Username:/Password:


class SmtpSession:
    """Policy for one SMTP connection: who may send what to whom."""

    def __init__(self, settings: MailServerSettings, service: str, peer: str,
                 router: MailRouter) -> None:
        self.settings, self.service, self.peer, self.router = settings, service, peer, router
        self.helo = ""
        self.extended = False
        self.authenticated_as: str | None = None
        self.mail_from: str | None = None
        self.rcpt_tos: list[str] = []
        self._auth_step: tuple[str, str] | None = None  # (mechanism, username so far)
        self.tls = False  # STARTTLS accepted: the dialog continues over TLS

    def greeting(self) -> smtp.Reply:
        """The 220 banner."""
        return smtp.replies.GREETING(hostname=self.settings.hostname)

    def handle(self, event: smtp.Event) -> smtp.Reply:
        """The reply to one event from the protocol machine."""
        match event:
            case smtp.ProtocolErrorEvent(reply=reply, reason=reason):
                log.info("protocol-error peer=%s service=%s %s", self.peer, self.service, reason)
                return reply
            case smtp.Hello():
                return self._hello(event)
            case smtp.AuthRequested():
                return self._auth_start(event)
            case smtp.AuthResponse():
                return self._auth_continue(event)
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
        self._reset()
        self.helo, self.extended = event.domain, event.extended
        if not event.extended:
            return smtp.replies.HELLO(hostname=self.settings.hostname)
        lines = [self.settings.hostname, "PIPELINING", "8BITMIME",
                 f"SIZE {self.settings.max_message_size}"]
        if self.service == "submission":
            lines.append("AUTH PLAIN LOGIN")
        if self.settings.tls_dir is not None and not self.tls:
            lines.append("STARTTLS")
        return smtp.Reply(250, tuple(lines))

    def _auth_start(self, event: smtp.AuthRequested) -> smtp.Reply:
        if self.service != "submission":
            return smtp.replies.AUTH_NOT_AVAILABLE()
        if self.authenticated_as:
            return smtp.replies.ALREADY_AUTHENTICATED()
        if event.mechanism not in ("PLAIN", "LOGIN"):
            return smtp.replies.AUTH_MECHANISM_UNKNOWN(mechanism=event.mechanism)
        self._auth_step = (event.mechanism, "")
        if event.initial_response is None:
            return smtp.replies.AUTH_CHALLENGE(
                challenge="" if event.mechanism == "PLAIN" else LOGIN_USERNAME)
        return self._auth_continue(smtp.AuthResponse(event.initial_response))

    def _auth_continue(self, event: smtp.AuthResponse) -> smtp.Reply:
        step, self._auth_step = self._auth_step, None
        if step is None:
            return smtp.replies.NO_AUTH_IN_PROGRESS()
        if event.cancelled:
            return smtp.replies.AUTH_CANCELLED()
        try:
            decoded = base64.b64decode(event.response, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return smtp.replies.AUTH_BAD_BASE64()
        mechanism, username = step
        if mechanism == "LOGIN" and not username:
            self._auth_step = ("LOGIN", decoded or "\0")
            return smtp.replies.AUTH_CHALLENGE(challenge=LOGIN_PASSWORD)
        if mechanism == "LOGIN":
            return self._check_password(username, decoded)
        parts = decoded.split("\0")
        if len(parts) != 3:
            return smtp.replies.AUTH_BAD_PLAIN()
        return self._check_password(parts[1], parts[2])

    def _check_password(self, login: str, password: str) -> smtp.Reply:
        user = self.settings.local_user(login)
        if user is None or user.password != password:
            log.info("auth-failed peer=%s login=%s", self.peer, login)
            return smtp.replies.AUTH_FAILED()
        self.authenticated_as = user.address
        log.info("auth-ok peer=%s user=%s", self.peer, user.address)
        return smtp.replies.AUTH_SUCCEEDED()

    def _mail_from(self, address: str) -> smtp.Reply:
        if self.service == "submission" and not self.authenticated_as:
            return smtp.replies.AUTH_REQUIRED()
        self._reset()
        self.mail_from = address
        return smtp.replies.SENDER_OK()

    def _rcpt_to(self, address: str) -> smtp.Reply:
        if len(self.rcpt_tos) >= MAX_RECIPIENTS:
            return smtp.replies.TOO_MANY_RECIPIENTS()
        if self.settings.is_local_domain(address):
            if self.settings.local_user(address) is None:
                return smtp.replies.USER_UNKNOWN(address=address)
        elif not self.authenticated_as:
            return smtp.replies.RELAY_DENIED(address=address)
        self.rcpt_tos.append(address)
        return smtp.replies.RECIPIENT_OK()

    def _message(self, data: bytes) -> smtp.Reply:
        mail_from, rcpt_tos = self.mail_from or "", list(self.rcpt_tos)
        self._reset()
        # SPF (spf_policy.py, by the lab's spf option); blocking: DATA runs in a worker thread.
        spf = evaluate_blocking(self.settings, self.service, bool(self.authenticated_as),
                                self.peer, self.helo, mail_from)
        if spf.reply is not None:
            log.info("spf-refused peer=%s from=<%s> %s", self.peer, mail_from, spf.reply.lines)
            return spf.reply
        try:
            ids = self.router.accept(mail_from, rcpt_tos,
                                     spf.header + self._received_header() + data, spf.folder)
        except OSError as exc:
            log.error("store-failed from=<%s> error=%s", mail_from, exc)
            return smtp.replies.LOCAL_ERROR()
        log.info("accepted peer=%s from=<%s> to=%s ids=%s", self.peer, mail_from,
                 ",".join(f"<{r}>" for r in rcpt_tos), ",".join(ids))
        return smtp.replies.QUEUED(queue_id=ids[0] if ids else "-")

    def _received_header(self) -> bytes:
        protocol = ("ESMTPA" if self.authenticated_as else "ESMTP") if self.extended else "SMTP"
        return (
            f"Received: from {self.helo} ([{self.peer}])\r\n"
            f"\tby {self.settings.hostname} (maillab) with {protocol};\r\n"
            f"\t{formatdate(localtime=True)}\r\n"
        ).encode("ascii", "replace")

    def _starttls(self) -> smtp.Reply:
        """Accept STARTTLS: the dialog starts over, nothing said before TLS counts (RFC 3207)."""
        self._reset()
        self.helo, self.extended, self.authenticated_as, self.tls = "", False, None, True
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

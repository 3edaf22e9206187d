# SMTP AUTH on the submission port (RFC 4954): PLAIN and LOGIN, with throttling.
#
# One SmtpAuth per connection. It decodes the SASL exchange, checks the password
# against the lab's users and counts failures: each failed attempt asks the I/O layer
# to hold its reply a little longer (auth_failure_delay_seconds x failures so far,
# awaited by that connection only, so other clients are served meanwhile), and the
# third failure is answered 421 4.7.0, which closes the connection.
from __future__ import annotations

import base64
import binascii
import logging

from labctl.protocols import smtp
from roles.mailserver.printable import printable
from roles.mailserver.settings import MailServerSettings

log = logging.getLogger("mailserver")
LOGIN_USERNAME, LOGIN_PASSWORD = "VXNlcm5hbWU6", "UGFzc3dvcmQ6"  # base64 Username:/Password:
MAX_AUTH_FAILURES = 3


class SmtpAuth:
    """The AUTH state of one connection: who is logged in, how often it failed."""

    def __init__(self, settings: MailServerSettings, peer: str) -> None:
        self.settings, self.peer = settings, peer
        self.authenticated_as: str | None = None
        self.failures = 0
        self.reply_delay = 0.0  # seconds the I/O layer waits before sending the next reply
        self._step: tuple[str, str] | None = None  # (mechanism, username so far)

    def start(self, event: smtp.AuthRequested) -> smtp.Reply:
        """The reply to AUTH <mechanism> [initial-response]."""
        if self.authenticated_as:
            return smtp.replies.ALREADY_AUTHENTICATED()
        if event.mechanism not in ("PLAIN", "LOGIN"):
            return smtp.replies.AUTH_MECHANISM_UNKNOWN(
                mechanism=printable(event.mechanism, 40))
        self._step = (event.mechanism, "")
        if event.initial_response is None:
            return smtp.replies.AUTH_CHALLENGE(
                challenge="" if event.mechanism == "PLAIN" else LOGIN_USERNAME)
        return self.respond(smtp.AuthResponse(event.initial_response))

    def respond(self, event: smtp.AuthResponse) -> smtp.Reply:
        """The reply to one client line of the SASL exchange."""
        step, self._step = self._step, None
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
            self._step = ("LOGIN", decoded or "\0")
            return smtp.replies.AUTH_CHALLENGE(challenge=LOGIN_PASSWORD)
        if mechanism == "LOGIN":
            return self._check_password(username, decoded)
        parts = decoded.split("\0")
        if len(parts) != 3:
            return smtp.replies.AUTH_BAD_PLAIN()
        return self._check_password(parts[1], parts[2])

    def take_reply_delay(self) -> float:
        """The delay to apply before the reply just produced (then reset)."""
        delay, self.reply_delay = self.reply_delay, 0.0
        return delay

    def _check_password(self, login: str, password: str) -> smtp.Reply:
        user = self.settings.local_user(login)
        if user is not None and user.password == password:
            self.authenticated_as = user.address
            log.info("auth-ok peer=%s user=%s", self.peer, user.address)
            return smtp.replies.AUTH_SUCCEEDED()
        self.failures += 1
        self.reply_delay = self.settings.auth_failure_delay_seconds * self.failures
        log.info("auth-failed peer=%s login=%s failures=%d", self.peer, printable(login),
                 self.failures)
        if self.failures >= MAX_AUTH_FAILURES:
            return smtp.replies.TOO_MANY_AUTH_FAILURES()
        return smtp.replies.AUTH_FAILED()

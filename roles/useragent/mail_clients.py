# The user agent's mail clients: SMTP submission with AUTH (smtplib) and POP3
# retrieval (poplib), Python's own real clients. Both bind the UA's own address
# so that, in the local runtime, each link's packets carry the right hosts. The
# message is rendered once the server's EHLO says whether it takes 8BITMIME.
from __future__ import annotations

import poplib
import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass

Render = Callable[[bool], bytes]  # the message's bytes, 8bit body allowed or not


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int


@dataclass(frozen=True)
class Account:
    address: str
    password: str


class BoundPOP3(poplib.POP3):
    """poplib.POP3 that connects from a chosen source address."""

    def __init__(self, host: str, port: int, source_address: str, timeout: float) -> None:
        self._source_address = source_address
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout: float) -> socket.socket:
        return socket.create_connection(
            (self.host, self.port), timeout, source_address=(self._source_address, 0)
        )


@dataclass(frozen=True)
class Submitted:
    reply: str  # the server's final reply line
    message: bytes  # the message exactly as sent


def submit(
    render: Render, recipient: str, server: Endpoint, account: Account, source: str,
    timeout: float = 30,
) -> Submitted:
    """Submit the message `render` makes to `recipient` with AUTH over SMTP."""
    with smtplib.SMTP(
        server.host, server.port, local_hostname=account.address.split("@")[1],
        timeout=timeout, source_address=(source, 0),
    ) as smtp:
        smtp.ehlo()
        smtp.login(account.address, account.password)
        eight_bit = smtp.has_extn("8bitmime")
        message = render(eight_bit)
        is_8bit = any(byte > 0x7F for byte in message)
        smtp.mail(account.address, ["BODY=8BITMIME"] if is_8bit else [])
        code, text = smtp.rcpt(recipient)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({recipient: (code, text)})
        code, text = smtp.data(message)
        if code != 250:
            raise smtplib.SMTPDataError(code, text)
        return Submitted(f"{code} {text.decode(errors='replace')}", message)


def fetch_pop3(
    server: Endpoint, account: Account, source: str, delete: bool, timeout: float = 30
) -> list[bytes]:
    """Download every message of the account's mailbox over POP3 (RETR, then DELE if asked)."""
    pop = BoundPOP3(server.host, server.port, source, timeout)
    try:
        pop.user(account.address.split("@")[0])
        pop.pass_(account.password)
        count, _size = pop.stat()
        messages: list[bytes] = []
        for number in range(1, count + 1):
            _resp, lines, _octets = pop.retr(number)
            messages.append(b"\r\n".join(lines) + b"\r\n")
            if delete:
                pop.dele(number)
    finally:
        pop.quit()
    return messages

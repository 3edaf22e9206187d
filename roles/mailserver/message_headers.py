# The header lines a mail server itself writes into a message it accepts.
#
# Received (RFC 5321 4.4), in the form Postfix writes it:
#     Received: from alice-pc.crepes.fr (unknown [198.18.1.10])
#             by mail.crepes.fr (maillab) with ESMTPA id 1795...R1f2e3d
#             for <bob@hamburger.edu>; Fri, 27 Nov 2026 07:30:21 +0000
# ("unknown": the lab has no reverse DNS; "for" only with a single recipient; the
# protocol name follows RFC 3848: ESMTP, +S with TLS, +A when authenticated). Message-ID
# is added on submission only, when the client sent none (RFC 6409 8.3). Counting
# Received headers detects a mail loop. Every client-supplied text goes through
# printable(), so a CR, LF or NUL can never split or forge a header.
from __future__ import annotations

import functools
import re
import time
from collections.abc import Sequence
from email.utils import formatdate

from roles.mailserver.printable import printable

_HEADER_NAME = re.compile(rb"([!-9;-~]+)[ \t]*:")


def header_names(data: bytes) -> list[bytes]:
    """The lower-cased names of the header fields of a raw message, in order."""
    names = []
    for line in data.split(b"\n"):
        if line in (b"", b"\r"):
            break
        found = _HEADER_NAME.match(line)
        if found:
            names.append(found.group(1).lower())
    return names


def protocol_name(extended: bool, tls: bool, authenticated: bool) -> str:
    """SMTP, ESMTP, ESMTPS, ESMTPA or ESMTPSA (RFC 3848)."""
    if not extended:
        return "SMTP"
    return "ESMTP" + ("S" if tls else "") + ("A" if authenticated else "")


def received_header(helo: str, peer: str, hostname: str, protocol: str, queue_id: str,
                    rcpt_tos: Sequence[str]) -> bytes:
    """A Received: header for a message this server is accepting now."""
    recipient = f"\r\n\tfor <{printable(rcpt_tos[0])}>" if len(rcpt_tos) == 1 else ""
    return (
        f"Received: from {printable(helo)} (unknown [{printable(peer)}])\r\n"
        f"\tby {hostname} (maillab) with {protocol} id {queue_id}"
        f"{recipient}; {_date(int(time.time()))}\r\n"
    ).encode("ascii")


@functools.lru_cache(maxsize=2)
def _date(second: int) -> str:
    """RFC 5322 date of a Unix second, local time (made once per second, not per message)."""
    return formatdate(second, localtime=True)


def message_id_header(queue_id: str, hostname: str) -> bytes:
    """A Message-ID: header for a submitted message that had none."""
    return f"Message-ID: <{queue_id}@{hostname}>\r\n".encode("ascii")

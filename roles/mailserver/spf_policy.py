# What the receiving server does with SPF, by the lab option MAILLAB_SPF (LabOptions.spf):
#   off     no check: a forged MAIL FROM is accepted, as the lecture first shows
#   junk    check; every message gets Received-SPF and Authentication-Results headers,
#           and a message whose SPF result is fail is filed in the recipient's Junk folder
#   reject  check; fail is refused with 550 5.7.23, temperror deferred with 451 4.7.24
# Only mail arriving on port 25 from an unauthenticated client is checked (submission
# is authenticated). The identity checked is the MAIL FROM domain, or the HELO name
# for the null sender (RFC 7208 2.4).
from __future__ import annotations

import asyncio
from dataclasses import dataclass

from labctl.protocols import smtp
from roles.mailserver.lab_dns import LabDns
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.spf import SpfResult, check_host

JUNK_FOLDER = "Junk"
_COMMENTS = {
    "pass": "domain of {sender} designates {ip} as permitted sender",
    "fail": "domain of {sender} does not designate {ip} as permitted sender",
    "softfail": "domain of transitioning {sender} does not designate {ip} as permitted sender",
    "neutral": "{ip} is neither permitted nor denied by domain of {sender}",
    "none": "domain of {sender} does not designate permitted sender hosts",
    "temperror": "error in processing during lookup of {sender}: {reason}",
    "permerror": "permanent error in processing domain of {sender}: {reason}",
}


@dataclass(frozen=True)
class SpfVerdict:
    """What to do with one message: headers to prepend, a folder, or a refusal."""

    header: bytes = b""
    folder: str | None = None  # None: the recipient's inbox
    reply: smtp.Reply | None = None  # set when the message is refused
    result: SpfResult | None = None  # None when SPF was not checked


UNCHECKED = SpfVerdict()


async def evaluate(settings: MailServerSettings, service: str, authenticated: bool,
                   client_ip: str, helo: str, mail_from: str) -> SpfVerdict:
    """The SPF verdict on a message, by the lab's SPF mode."""
    mode = settings.options.spf
    if mode == "off" or service != "smtp" or authenticated:
        return UNCHECKED
    sender = mail_from or f"postmaster@{helo}"
    result = await check_host(LabDns.for_server(settings), client_ip,
                              sender.rpartition("@")[2])
    header = _headers(settings.hostname, result, client_ip, helo, sender, bool(mail_from))
    if mode == "reject" and result.result == "fail":
        return SpfVerdict(header, reply=smtp.replies.SPF_FAILED(
            comment=_comment(result, sender, client_ip)), result=result)
    if mode == "reject" and result.result == "temperror":
        return SpfVerdict(header, reply=smtp.replies.SPF_TEMPORARY_ERROR(reason=result.reason),
                          result=result)
    folder = JUNK_FOLDER if mode == "junk" and result.result == "fail" else None
    return SpfVerdict(header, folder, result=result)


def evaluate_blocking(settings: MailServerSettings, service: str, authenticated: bool,
                      client_ip: str, helo: str, mail_from: str) -> SpfVerdict:
    """evaluate() for code running in a worker thread (no event loop of its own)."""
    if settings.options.spf == "off":
        return UNCHECKED
    return asyncio.run(evaluate(settings, service, authenticated, client_ip, helo, mail_from))


def _comment(result: SpfResult, sender: str, ip: str) -> str:
    return _COMMENTS[result.result].format(sender=sender, ip=ip, reason=result.reason)


def _headers(receiver: str, result: SpfResult, ip: str, helo: str, sender: str,
             from_mail_from: bool) -> bytes:
    identity = "mailfrom" if from_mail_from else "helo"
    received_spf = (
        f"Received-SPF: {result.result} ({receiver}: {_comment(result, sender, ip)})\r\n"
        f"\tclient-ip={ip}; envelope-from=\"{sender}\"; helo={helo or 'unknown'};\r\n"
        f"\treceiver={receiver}; identity={identity}\r\n"
    )
    property_ = f"smtp.mailfrom={sender}" if from_mail_from else f"smtp.helo={helo}"
    results = f"Authentication-Results: {receiver};\r\n\tspf={result.result} {property_}\r\n"
    return (received_spf + results).encode("ascii", "replace")

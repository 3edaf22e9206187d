# The mail server's DNS client: it asks the lab's name server only, never the resolvers
# of /etc/resolv.conf, so no lookup ever leaves the lab.
#
# Queries go over UDP (TCP when the answer is truncated) from this server's own address
# on the name server's network, so a capture of that link shows them. The UDP exchange
# is a connected socket driven by the event loop's sock_* calls (the kernel drops
# datagrams from any other address; a datagram that is not the answer to our query is
# ignored), about half the cost of dnspython's datagram endpoint per query; dnspython
# builds and parses the messages and does the TCP fallback. The answer comes
# back as its rcode and the records of the asked type in a simple text form, plus the
# A records of the additional section (an MX answer brings its hosts' addresses there);
# a name server that does not answer raises DnsUnavailable (callers treat it as temporary).
from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
from dns.rdtypes.ANY.MX import MX
from dns.rdtypes.ANY.TXT import TXT
from dns.rdtypes.IN.A import A

from roles.mailserver.settings import MailServerSettings


class DnsUnavailable(Exception):
    """The lab's name server gave no usable answer (timeout, refused socket, garbage)."""


@dataclass(frozen=True)
class DnsAnswer:
    """An answer: its rcode ("NOERROR", "NXDOMAIN", ...) and the records of the asked type.

    A: "198.18.2.26"; MX: "10 mail.hamburger.edu" (no final dot); TXT: the record's
    strings joined into one text, as SPF reads them.
    """

    rcode: str
    records: tuple[str, ...]
    # A records of the additional section by owner name (lower case, no final dot)
    addresses: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class LabDns:
    """A client of the lab's name server at `server` (host, port)."""

    server: tuple[str, int]
    source: str | None = None  # our own address on the name server's network
    timeout: float = 3.0

    @classmethod
    def for_server(cls, settings: MailServerSettings) -> LabDns:
        """The client a mail server uses: the lab resolver of its settings, from its address."""
        plan, host = settings.addressing, settings.resolver[0]
        network = plan.network_of(host)
        source = None
        if network is not None and network in settings.lab_role.networks:
            source = plan.address(settings.role, network)
        return cls(settings.resolver, source, settings.dns_timeout_seconds)

    @property
    def where(self) -> str:
        return f"{self.server[0]}:{self.server[1]}"

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Ask for the `rdtype` records of `name`; DnsUnavailable when there is no answer."""
        request = dns.message.make_query(name, rdtype)
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._over_udp(request)
                if response.flags & dns.flags.TC:
                    response = await dns.asyncquery.tcp(
                        request, self.server[0], port=self.server[1], source=self.source)
        except (TimeoutError, dns.exception.Timeout):
            raise DnsUnavailable(f"the lab's DNS at {self.where} did not answer "
                                 f"{name} {rdtype} within {self.timeout:g}s") from None
        except (OSError, dns.exception.DNSException) as exc:
            raise DnsUnavailable(f"the lab's DNS at {self.where} failed for "
                                 f"{name} {rdtype}: {exc}") from None
        wanted = dns.rdatatype.from_text(rdtype)
        records = [_text(rdata) for rrset in response.answer if rrset.rdtype == wanted
                   for rdata in rrset]
        addresses = {rrset.name.to_text(omit_final_dot=True).lower():
                     tuple(_text(rdata) for rdata in rrset)
                     for rrset in response.additional if rrset.rdtype == dns.rdatatype.A}
        return DnsAnswer(dns.rcode.to_text(response.rcode()), tuple(records), addresses)


    async def _over_udp(self, request: dns.message.Message) -> dns.message.Message:
        """Send `request` over UDP; the first datagram that answers it."""
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in self.server[0] else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            if self.source is not None:
                sock.bind((self.source, 0))
            sock.connect(self.server)
            await loop.sock_sendall(sock, request.to_wire())
            while True:
                wire = await loop.sock_recv(sock, 65535)
                try:
                    response = dns.message.from_wire(wire)
                except dns.exception.DNSException:
                    continue  # noise on our port: keep waiting for the answer
                if request.is_response(response):
                    return response


def _text(rdata: object) -> str:
    if isinstance(rdata, MX):
        return f"{rdata.preference} {rdata.exchange.to_text(omit_final_dot=True)}"
    if isinstance(rdata, TXT):
        return b"".join(rdata.strings).decode("utf-8", "replace")
    if isinstance(rdata, A):
        return str(rdata.address)
    return str(rdata)

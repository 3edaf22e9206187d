# The name server's answers, sans-I/O: query bytes in, response bytes out.
#
# Authoritative only, no recursion (RA is never set): a name inside a lab zone gets
# its records (AA), NODATA with the zone's SOA when it has none of the asked type, or
# NXDOMAIN with the SOA when it does not exist; a name outside every lab zone gets
# REFUSED, so nothing is ever looked up outside the lab. Wire format: dnslib.
#
#   query                              | rcode    | AA | answer      | authority
#   -----------------------------------+----------+----+-------------+----------
#   lab name, records of that type     | NOERROR  | 1  | the records | -
#     ... and MX among them: the A records of the exchange hosts in the additional
#     section (RFC 1035 3.3.9), so a mail server needs no second query; dropped
#     first when a UDP response would be too long
#   lab name, no record of that type   | NOERROR  | 1  | -           | SOA
#   name in a lab zone, no such name   | NXDOMAIN | 1  | -           | SOA
#   any other name, or class not IN    | REFUSED  | 0  | -           | -
#   opcode other than QUERY            | NOTIMP   | 0  | -           | -
#   not one question                   | FORMERR  | 0  | -           | -
#   a response, or no DNS header       | (nothing is sent back)
from __future__ import annotations

from dataclasses import dataclass

from dnslib import CLASS, EDNS0, OPCODE, QTYPE, RCODE, RR, DNSError, DNSHeader, DNSRecord
from dnslib.buffer import Buffer, BufferError

from labctl.model.zone import ResourceRecord, Zone

UDP_PAYLOAD = 512  # classic UDP limit; EDNS0 clients may announce more
MAX_UDP_PAYLOAD = 4096


@dataclass(frozen=True)
class Outcome:
    """What was asked and answered, for the server's log."""

    name: str
    qtype: str
    rcode: str
    answers: int


class Responder:
    """Answers DNS queries from a lab Zone."""

    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self._wire = {record: RR.fromZone(record.zone_line())[0] for record in zone.records}

    def respond(self, query: bytes, over_udp: bool) -> tuple[bytes | None, Outcome]:
        """The response to `query` (None when it is not a DNS message) and its summary."""
        try:
            request = DNSRecord.parse(query)
        except (DNSError, BufferError, ValueError, IndexError):
            header = _header_only(query)
            if header is None or header.qr:
                return None, Outcome("-", "-", "(dropped)", 0)
            return self._error(header, RCODE.FORMERR), Outcome("-", "-", "FORMERR", 0)
        if request.header.qr:  # a response: answering it could start a loop between servers
            return None, Outcome("-", "-", "(dropped)", 0)
        if request.header.opcode != OPCODE.QUERY:
            return self._error(request.header, RCODE.NOTIMP), Outcome("-", "-", "NOTIMP", 0)
        if len(request.questions) != 1:
            return self._error(request.header, RCODE.FORMERR), Outcome("-", "-", "FORMERR", 0)
        response = self._answer(request)
        question = request.q
        outcome = Outcome(str(question.qname), QTYPE.get(question.qtype, str(question.qtype)),
                          RCODE.get(response.header.rcode), len(response.rr))
        return self._pack(request, response, over_udp), outcome

    def _answer(self, request: DNSRecord) -> DNSRecord:
        question = request.q
        name, qtype = str(question.qname), QTYPE.get(question.qtype, "")
        response = DNSRecord(DNSHeader(id=request.header.id, qr=1, rd=request.header.rd, ra=0),
                             q=question)
        origin = self.zone.origin_of(name)
        if origin is None or question.qclass != CLASS.IN:
            response.header.rcode = RCODE.REFUSED
            return response
        response.header.aa = 1
        for record in self.zone.lookup(name, qtype):
            wire = self._wire[record]
            response.add_answer(RR(question.qname, wire.rtype, wire.rclass, wire.ttl, wire.rdata))
            for address in self._additional(record):
                if address not in response.ar:
                    response.add_ar(address)
        if not response.rr:
            if not self.zone.exists(name):
                response.header.rcode = RCODE.NXDOMAIN
            response.add_auth(self._wire[self.zone.soa(origin)])
        return response

    def _additional(self, record: ResourceRecord) -> list[RR]:
        """The additional records an answer record brings: an MX brings its host's A."""
        if record.rtype != "MX":
            return []
        exchange = str(self._wire[record].rdata.label)
        return [self._wire[a] for a in self.zone.lookup(exchange, "A")]

    def _pack(self, request: DNSRecord, response: DNSRecord, over_udp: bool) -> bytes:
        options = [r for r in request.ar if r.rtype == QTYPE.OPT]
        limit = min(max(options[0].rclass, UDP_PAYLOAD), MAX_UDP_PAYLOAD) if options \
            else UDP_PAYLOAD
        wire = self._wire_of(response, bool(options))
        if over_udp and len(wire) > limit and response.ar:  # additional data goes first
            response.ar = []
            wire = self._wire_of(response, bool(options))
        if over_udp and len(wire) > limit:
            truncated = DNSRecord(response.header, q=response.q)
            truncated.header.tc = 1
            wire = bytes(truncated.pack())
        return wire

    @staticmethod
    def _wire_of(response: DNSRecord, edns: bool) -> bytes:
        if not edns:
            return bytes(response.pack())
        with_options = DNSRecord(response.header, q=response.q, rr=list(response.rr),
                                 auth=list(response.auth),
                                 ar=[*response.ar, EDNS0(udp_len=MAX_UDP_PAYLOAD)])
        return bytes(with_options.pack())

    @staticmethod
    def _error(header: DNSHeader, rcode: int) -> bytes:
        reply = DNSHeader(id=header.id, qr=1, opcode=header.opcode, rd=header.rd, ra=0,
                          rcode=rcode, q=0)
        return bytes(DNSRecord(reply).pack())


def _header_only(data: bytes) -> DNSHeader | None:
    """The header of a message whose body does not parse (None: not even a header)."""
    if len(data) < 12:
        return None
    try:
        header: DNSHeader = DNSHeader.parse(Buffer(data[:12]))
    except (DNSError, BufferError, ValueError):
        return None
    return header

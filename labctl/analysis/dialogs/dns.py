# The DNS observer: a captured DNS conversation (UDP or TCP) read into a Dialog.
#
# Over UDP each datagram is one message (one Segment per datagram); over TCP each side's
# stream is a run of messages, each after a 2-byte length (RFC 1035 section 4.2.2, RFC
# 7766). Messages are read with dnspython (dns.message.from_wire). A query is one
# COMMAND step per question (label "MX hamburger.edu"); a response is one REPLY step
# (label and code its rcode, text its answer records, then its additional records each
# on a line "additional: NAME TYPE DATA") answering the query with the same id and
# question. One DnsQuery per question, with the rcode, answers and additional records
# of its response. A message that does not parse is an UNREADABLE step and a problem note;
# the next datagram (or, over TCP, the next length-prefixed message) is read on.
from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import replace

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from labctl.analysis.dialog import COMMAND, REPLY, Dialog, DnsQuery, Step
from labctl.analysis.dialogs.streams import OffsetClock
from labctl.analysis.results import Segment
from labctl.model.topology import DNS

PROTOCOL = DNS
LENGTH_PREFIX = 2


def observe(segments: Sequence[Segment], transport: str = "tcp") -> Dialog:
    """The dialog of one DNS conversation (see the module comment)."""
    observer = _DnsObserver()
    if transport == "udp":
        for segment in segments:
            side = observer.side(segment.from_client)
            offset = side.received
            side.add(len(segment.data), segment.timestamp)
            observer.message(side, offset, segment.data)
    else:
        streams = {True: _LengthPrefixed(), False: _LengthPrefixed()}
        for segment in segments:
            side = observer.side(segment.from_client)
            side.add(len(segment.data), segment.timestamp)
            for offset, data in streams[segment.from_client].feed(segment.data):
                observer.message(side, offset, data)
        for from_client, stream in streams.items():
            missing = stream.missing()
            if missing is not None:
                where = observer.side(from_client).where(stream.offset)
                observer.dialog.problems.append(f"{where}: the capture ends inside a message:"
                                                f" {missing}")
    return observer.finish()


class _LengthPrefixed:
    """One side of DNS over TCP: bytes in, (offset, message) out."""

    def __init__(self) -> None:
        self._data = bytearray()
        self.offset = 0  # stream offset of self._data[0]

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._data += data
        messages = []
        while len(self._data) >= LENGTH_PREFIX:
            (size,) = struct.unpack_from(">H", self._data)
            end = LENGTH_PREFIX + size
            if len(self._data) < end:
                break
            messages.append((self.offset, bytes(self._data[LENGTH_PREFIX:end])))
            del self._data[:end]
            self.offset += end
        return messages

    def missing(self) -> str | None:
        """What the last, incomplete message lacks, or None."""
        if not self._data:
            return None
        if len(self._data) < LENGTH_PREFIX:
            return "one octet of its 2-octet length"
        (size,) = struct.unpack_from(">H", self._data)
        return f"{len(self._data) - LENGTH_PREFIX} of {size} octets"


class _DnsObserver:
    def __init__(self) -> None:
        self.dialog = Dialog(PROTOCOL)
        self.client, self.server = OffsetClock(True), OffsetClock(False)
        self.waiting: dict[tuple[int, str, str], tuple[int, int]] = {}  # -> (step, query)

    def side(self, from_client: bool) -> OffsetClock:
        return self.client if from_client else self.server

    def message(self, side: OffsetClock, offset: int, data: bytes) -> None:
        try:
            message = dns.message.from_wire(data)
        except Exception as error:  # dnspython raises many types for bad wire data
            side.unreadable(self.dialog, offset, f"not a DNS message: {error}", data)
            return
        questions = [(question.name.to_text(omit_final_dot=True),
                      dns.rdatatype.to_text(question.rdtype)) for question in message.question]
        time = side.time_at(offset)
        if not message.flags & dns.flags.QR:
            if not questions:
                self.dialog.steps.append(Step(side.from_client, COMMAND, "query",
                                              f"id {message.id}, no question", time))
            for name, qtype in questions:
                self.waiting[(message.id, name.lower(), qtype)] = (len(self.dialog.steps),
                                                           len(self.dialog.dns))
                self.dialog.steps.append(Step(side.from_client, COMMAND, f"{qtype} {name}",
                                              f"id {message.id}", time))
                self.dialog.dns.append(DnsQuery(name, qtype, None, ()))
            return
        rcode = dns.rcode.to_text(message.rcode())
        answers = tuple(rdata.to_text() for rrset in message.answer for rdata in rrset)
        additional = tuple(f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)} {rdata}"
                           for rrset in message.additional for rdata in rrset)
        text = "\n".join([*answers, *(f"additional: {record}" for record in additional)])
        asked = [self.waiting.pop((message.id, name.lower(), qtype), None)
                 for name, qtype in questions]
        found = [pair for pair in asked if pair is not None]
        self.dialog.steps.append(Step(side.from_client, REPLY, rcode, text, time,
                                      rcode, found[0][0] if found else None))
        for (name, qtype), pair in zip(questions, asked, strict=True):
            if pair is None:
                self.dialog.problems.append(f"{side.where(offset)}: response id {message.id}"
                                            f" ({qtype} {name}) answers no query seen")
                self.dialog.dns.append(DnsQuery(name, qtype, rcode, answers, additional))
            else:
                self.dialog.dns[pair[1]] = replace(self.dialog.dns[pair[1]], rcode=rcode,
                                                   answers=answers, additional=additional)

    def finish(self) -> Dialog:
        for (query_id, name, qtype), _ in self.waiting.items():
            self.dialog.problems.append(f"no response to query id {query_id} ({qtype} {name})")
        return self.dialog

# The HTTP observer: a captured HTTP/1.x conversation replayed into a Dialog.
#
# Theory of operation
# -------------------
# h11 (the sans-I/O HTTP/1.1 library under uvicorn) reads both sides: a server-role
# h11 Connection reads the client's bytes (requests), a client-role one reads the
# server's bytes (responses). h11 only reads a response once the request it answers was
# sent, and only reads the next request once the response was sent, so each connection
# is also given the events the other one read (`send()`, its bytes thrown away): each
# connection sees the whole exchange, keeps the framing right (Content-Length, chunked,
# HEAD, 1xx, Connection: close, bodies ended by the close) and starts the next cycle of
# a keep-alive connection once both sides are done. Pipelined requests wait in the
# reader's buffer until their turn, so steps come in protocol order.
#
# Steps: the request (COMMAND, label the method, text the request line and headers),
# its body (PAYLOAD "body"), the response (REPLY, label and code the status, answering
# the request; 1xx responses too) and its body. A body's PAYLOAD step keeps at most
# KEPT_BODY octets; the HttpExchange counts them all. At the end of the capture the
# connections are told of the close, so a body cut short is said to be.
#
# Bytes h11 refuses (either side) are an UNREADABLE step and a problem note; their
# exchange is lost. Both sides are read again, with fresh connections, from the client's
# next request line where that is safe (_http_resync.py says when), and a note says so;
# where it is not, the rest is not read.
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import h11

from labctl.analysis.dialog import COMMAND, PAYLOAD, REPLY, TLS, Dialog, HttpExchange, Step
from labctl.analysis.dialogs._http_resync import LostBytes
from labctl.analysis.dialogs.streams import OffsetClock
from labctl.analysis.identify import is_tls_hello
from labctl.analysis.results import Segment
from labctl.model.topology import HTTP

KEPT_BODY = 64 * 1024  # octets of each body kept in its PAYLOAD step
MAX_HEAD = 64 * 1024  # request or status line plus headers
SWITCHING_PROTOCOLS = 101  # the connection carries another protocol from here on
Head = h11.Request | h11.Response | h11.InformationalResponse


@dataclass
class _Half:
    """One side of the conversation: the connection reading it, the one replaying it."""

    direction: OffsetClock
    reader: h11.Connection
    mirror: h11.Connection
    body: bytearray = field(default_factory=bytearray)
    body_size: int = 0
    body_start: int | None = None  # offset of the body's first octet
    broken: bool = False  # h11 refused bytes (of either side): not read until a resync
    closed: bool = False  # h11 read the end of its stream


def observe(segments: Sequence[Segment], transport: str = "tcp") -> Dialog:
    """The dialog of one HTTP/1.x conversation (see the module comment)."""
    observer = _HttpObserver()
    for index, segment in enumerate(segments):
        if index == 0 and is_tls_hello(segment.data, 1):
            observer.dialog.tls_from = segment.timestamp
            observer.dialog.steps.append(Step(True, TLS, "TLS", "the conversation is TLS",
                                              segment.timestamp))
            return observer.dialog
        observer.feed(segment)
    return observer.finish()


class _HttpObserver:
    def __init__(self) -> None:
        self.dialog = Dialog(HTTP)
        self.connect(OffsetClock(True), OffsetClock(False))
        self.waiting: list[tuple[int, int]] = []  # (request step, exchange) with no response
        self.lost: LostBytes | None = None  # after unreadable bytes, until resync()

    def connect(self, client: OffsetClock, server: OffsetClock) -> None:
        """Fresh h11 connections to read both sides from here on."""
        server_role = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        client_role = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        self.client = _Half(client, server_role, client_role)
        self.server = _Half(server, client_role, server_role)

    def feed(self, segment: Segment) -> None:
        half = self.client if segment.from_client else self.server
        half.direction.add(len(segment.data), segment.timestamp)
        if self.lost is not None and segment.data:
            self.lost_bytes(self.lost, segment.from_client, segment.data)
        elif segment.data and not half.broken:  # (h11 takes b"" for the close)
            half.reader.receive_data(segment.data)
            self.read()

    def read(self) -> None:
        """Read both sides as far as they go; each may unblock the other."""
        progress = True
        while progress:
            progress = self.read_side(self.client) | self.read_side(self.server)

    def read_side(self, half: _Half) -> bool:
        """Read the events buffered on one side; say whether any came."""
        progress = False
        while not (half.broken or half.closed):
            if half is self.server and half.reader.our_state is h11.IDLE:
                return progress  # no request replayed yet: a response answers nothing
            start = half.direction.received - len(half.reader.trailing_data[0])
            try:
                event = half.reader.next_event()
            except h11.RemoteProtocolError as error:
                if half.reader.trailing_data[1]:  # the capture ended (finish() said so)
                    self.cut_short(half, start, error)
                else:
                    self.unreadable(half, start, f"not HTTP/1.x: {error}")
                return progress
            if not isinstance(event, h11.Event):  # NEED_DATA or PAUSED
                return progress
            progress = True
            if isinstance(event, h11.ConnectionClosed):
                half.closed = True
                return progress
            try:
                self.event(half, event, start)
                half.mirror.send(replayable(event))
            except h11.LocalProtocolError as error:  # the other side's view disagrees
                self.unreadable(half, start, f"does not fit the exchange: {error}")
                return progress
            if isinstance(event, h11.EndOfMessage):
                self.next_cycle()
        return progress

    def event(self, half: _Half, event: h11.Event, start: int) -> None:
        if isinstance(event, Head):
            self.head(half, event, start)
        elif isinstance(event, h11.Data):
            if half.body_start is None:
                half.body_start = start
            half.body_size += len(event.data)
            half.body += event.data[:max(0, KEPT_BODY - len(half.body))]
        elif isinstance(event, h11.EndOfMessage):
            self.end_of_body(half)

    def head(self, half: _Half, event: Head, start: int) -> None:
        lines = [f"{name.decode('latin-1')}: {value.decode('latin-1')}"
                 for name, value in event.headers.raw_items()]
        version = event.http_version.decode("ascii")
        time = half.direction.time_at(start)
        if isinstance(event, h11.Request):
            method, target = event.method.decode("latin-1"), event.target.decode("latin-1")
            self.waiting.append((len(self.dialog.steps), len(self.dialog.http)))
            self.dialog.http.append(HttpExchange(method, target, None, 0, 0))
            text = "\n".join([f"{method} {target} HTTP/{version}", *lines])
            self.dialog.steps.append(Step(True, COMMAND, method, text, time))
            return
        status = str(event.status_code)
        text = "\n".join([f"HTTP/{version} {status} {event.reason.decode('latin-1')}", *lines])
        answers = self.waiting[0][0] if self.waiting else None
        self.dialog.steps.append(Step(False, REPLY, status, text, time, status, answers))
        switched = event.status_code == SWITCHING_PROTOCOLS  # no body: the exchange is over
        if (isinstance(event, h11.Response) or switched) and self.waiting:
            exchange = (self.waiting.pop(0) if switched else self.waiting[0])[1]
            self.dialog.http[exchange] = replace(self.dialog.http[exchange],
                                                 status=event.status_code)

    def end_of_body(self, half: _Half) -> None:
        from_client = half is self.client
        if half.body_start is not None:
            kept = "" if half.body_size <= KEPT_BODY else f", the first {KEPT_BODY} kept"
            self.dialog.steps.append(Step(
                from_client, PAYLOAD, "body", f"{half.body_size} octets{kept}",
                half.direction.time_at(half.body_start), data=bytes(half.body)))
        if from_client and self.waiting:
            exchange = self.waiting[-1][1]
            self.dialog.http[exchange] = replace(self.dialog.http[exchange],
                                                 request_body_size=half.body_size)
        elif not from_client and self.waiting:
            exchange = self.waiting.pop(0)[1]
            self.dialog.http[exchange] = replace(self.dialog.http[exchange],
                                                 response_body_size=half.body_size)
        half.body, half.body_size, half.body_start = bytearray(), 0, None

    def next_cycle(self) -> None:
        """Both sides done with this exchange (keep-alive): ready both for the next one."""
        for connection in (self.client.reader, self.server.reader):
            if connection.our_state is h11.DONE and connection.their_state is h11.DONE:
                connection.start_next_cycle()

    def cut_short(self, half: _Half, start: int, error: h11.RemoteProtocolError) -> None:
        half.broken = True
        if half.body_start is not None:  # keep what came of the body
            self.end_of_body(half)
        self.dialog.problems.append(f"{half.direction.where(start)}: the capture ends: {error}")

    def unreadable(self, half: _Half, start: int, reason: str) -> None:
        """Bytes h11 refuses: said, and both sides lost until a resync."""
        rest = half.reader.trailing_data[0] if half.reader.their_state is not h11.ERROR else b""
        half.direction.unreadable(self.dialog, start, reason, rest)
        client, server = self.client.reader.trailing_data[0], self.server.reader.trailing_data[0]
        self.client.broken = self.server.broken = True
        self.lost = LostBytes(self.client.direction.received - len(client),
                              self.server.direction.received - len(server),
                              None if half is self.client else self.client.direction.received,
                              len(server))
        self.lost_bytes(self.lost, True, client)

    def lost_bytes(self, lost: LostBytes, from_client: bool, data: bytes) -> None:
        """Bytes after the loss: kept until a request line shows where to read on."""
        if not from_client:
            return lost.server_bytes(len(data), self.client.direction.received)
        found = lost.client_bytes(data)
        if found is None:
            return
        self.lost = None
        at, rest = found
        where = self.client.direction.where(at)
        if not lost.safe_at(at):
            self.dialog.problems.append(f"{where}: a request sent before the server answered"
                                        " the unreadable bytes: the rest is not read")
            return
        for request in (self.dialog.http[exchange] for _, exchange in self.waiting):
            self.dialog.problems.append(f"the response to {request.method} {request.target}"
                                        " is lost in unreadable bytes")
        self.dialog.problems.append(f"{where}: read again from this request on ({at - lost.start}"
                                    f" client and {lost.server_octets} server octets skipped)")
        self.waiting = []
        self.connect(self.client.direction, self.server.direction)
        self.client.reader.receive_data(rest)
        self.read()

    def finish(self) -> Dialog:
        """Tell both readers the capture ended; say what it cut short."""
        if self.lost is not None:
            self.dialog.problems += self.lost.notes(self.client.direction, self.server.direction)
        for half in (self.client, self.server):
            if half.broken or half.closed:
                continue
            unread = len(half.reader.trailing_data[0])
            start = half.direction.received - unread
            if half is self.server and half.reader.our_state is h11.IDLE and unread:
                self.dialog.problems.append(f"{half.direction.where(start)}: {unread} octets"
                                            " answering no request read")
                continue
            if half.reader.their_state is h11.SWITCHED_PROTOCOL:
                if unread:
                    self.dialog.problems.append(f"{half.direction.where(start)}: {unread} octets"
                                                " after the switch to another protocol")
                continue
            half.reader.receive_data(b"")
            self.read()
        unread = len(self.client.reader.trailing_data[0])
        switched = self.client.reader.their_state is h11.SWITCHED_PROTOCOL
        if unread and not (self.client.broken or switched):
            start = self.client.direction.received - unread
            self.dialog.problems.append(f"{self.client.direction.where(start)}: {unread} octets"
                                        " of pipelined requests not read (a response is missing)")
        for _, exchange in self.waiting:
            request = self.dialog.http[exchange]
            what = "no response to" if request.status is None else "the response cut short:"
            self.dialog.problems.append(f"{what} {request.method} {request.target}"
                                        " (the capture ends)")
        return self.dialog


def replayable(event: h11.Event) -> h11.Event:
    """The event as h11 agrees to send it: h11 only writes HTTP/1.1 (with a Host header).
    The reading side has the real version, which is what decides the framing."""
    if not isinstance(event, Head) or event.http_version == b"1.1":
        return event
    headers = list(event.headers.raw_items())
    if isinstance(event, h11.Request):
        if not any(name.lower() == b"host" for name, _ in headers):
            headers.append((b"Host", b"-"))
        return h11.Request(method=event.method, target=event.target, headers=headers)
    return type(event)(status_code=event.status_code, reason=event.reason, headers=headers)

# The name server's thin asyncio layer: UDP datagrams and TCP streams to the Responder.
#
# UDP: one datagram in, one out. TCP (RFC 1035 4.2.2, RFC 7766): each message carries a
# two-byte length prefix; a connection may carry several queries and is closed after
# an idle timeout. Both listen on the same address and port (port 0: one the kernel
# picks for UDP, then the same one for TCP). Every answer is logged in one line.
from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import struct
from typing import cast

from roles.dns.responder import Outcome, Responder

log = logging.getLogger("dns")
TCP_IDLE_SECONDS = 10.0
PORT_ATTEMPTS = 20


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        response, outcome = self.responder.respond(data, over_udp=True)
        _log(outcome, "udp", addr[0])
        if response is not None and self.transport is not None:
            self.transport.sendto(response, addr)


def _log(outcome: Outcome, transport: str, peer: str) -> None:
    log.info("query %s from=%s name=%s type=%s rcode=%s answers=%d", transport, peer,
             outcome.name, outcome.qtype, outcome.rcode, outcome.answers)


class DnsServer:
    """The lab's name server on one address: UDP and TCP on the same port."""

    def __init__(self, responder: Responder, host: str, port: int) -> None:
        self.responder, self.host, self.port = responder, host, port
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) the server answers on, once started."""
        return self.host, self.port

    async def start(self) -> None:
        """Bind UDP and TCP; with port 0, retry until one free port takes both."""
        for _ in range(PORT_ATTEMPTS if self.port == 0 else 1):
            udp = await self._bind_udp(self.port)
            port = int(udp.get_extra_info("sockname")[1])
            try:
                self._tcp = await asyncio.start_server(self._serve_tcp, self.host, port,
                                                       reuse_address=True)
            except OSError as exc:
                udp.close()
                if self.port != 0 or exc.errno != errno.EADDRINUSE:
                    raise
                continue
            self._udp, self.port = udp, port
            log.info("answering on %s:%d (udp and tcp)", self.host, port)
            return
        raise OSError(errno.EADDRINUSE, f"no free port for udp and tcp on {self.host}")

    async def _bind_udp(self, port: int) -> asyncio.DatagramTransport:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(self.responder), local_addr=(self.host, port))
        return transport

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = str(writer.get_extra_info("peername")[0])
        try:
            while True:
                async with asyncio.timeout(TCP_IDLE_SECONDS):
                    prefix = await reader.readexactly(2)
                    query = await reader.readexactly(struct.unpack("!H", prefix)[0])
                response, outcome = self.responder.respond(query, over_udp=False)
                _log(outcome, "tcp", peer)
                if response is None:
                    break
                writer.write(struct.pack("!H", len(response)) + response)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def stop(self) -> None:
        """Stop answering on both transports."""
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()
        self._udp, self._tcp = None, None

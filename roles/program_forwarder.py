# On the local backend, a student's program does not open its connections from its
# role's lab address: it does not choose a source address (the classic client never
# does), and on loopback the kernel gives it 127.0.0.1, which belongs to no role and no
# link. So the role's agent forwards: for each mail server the program is told about,
# it listens on 127.0.0.1 (a port of the kernel's choosing, on no lab network, so the
# program's own leg is in no capture) and opens each connection it gets from the
# role's address on the network it shares with that server. It then copies the bytes
# both ways as they come (no buffering of whole lines, so a client that does not wait
# for replies is seen so on the wire) and passes each end of stream on (half close).
# A server on no network of the role is unreachable, as on compose: the forwarder
# resets the connection at once.
#
# On compose the program runs in the role's container, with the role's addresses, and
# needs none of this: forwarded() gives the targets back unchanged.
from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import struct
from collections.abc import AsyncIterator

from labctl.model import Addressing, Runtime

LISTEN_HOST = "127.0.0.1"
CONNECT_TIMEOUT_SECONDS = 10.0
CHUNK = 65536


@contextlib.asynccontextmanager
async def forwarded(plan: Addressing, role_name: str, targets: dict[str, tuple[str, int]]
                    ) -> AsyncIterator[dict[str, tuple[str, int]]]:
    """The targets the program is given: `targets` on compose; on local, a forwarder's
    address for each, open for as long as the context lasts."""
    if plan.runtime is not Runtime.LOCAL:
        yield targets
        return
    role = plan.lab.role(role_name)
    servers: list[asyncio.Server] = []
    given: dict[str, tuple[str, int]] = {}
    try:
        for name, target in targets.items():
            network = plan.network_of(target[0])
            source = plan.address(role, network) if network in role.networks else None
            server = await asyncio.start_server(
                functools.partial(_forward, target, source), LISTEN_HOST, 0)
            servers.append(server)
            given[name] = (LISTEN_HOST, int(server.sockets[0].getsockname()[1]))
        yield given
    finally:
        for server in servers:
            server.close()
        for server in servers:
            await server.wait_closed()


async def _forward(target: tuple[str, int], source: str | None,
                   reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    if source is None:  # no route from this role to that server: refuse, as a kernel would
        _reset(writer)
        return
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
            upstream_reader, upstream_writer = await asyncio.open_connection(
                *target, local_addr=(source, 0))
    except (OSError, TimeoutError):
        _reset(writer)
        return
    try:
        await asyncio.gather(_copy(reader, upstream_writer), _copy(upstream_reader, writer))
    finally:
        for end in (writer, upstream_writer):
            end.close()
            with contextlib.suppress(OSError):
                await end.wait_closed()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then pass the end on (half close)."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        _reset(writer)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a refused or broken connection ends."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()

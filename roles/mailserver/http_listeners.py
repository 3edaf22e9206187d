# The mail server's HTTP services: FastAPI apps served by uvicorn inside the server's
# own asyncio loop, on sockets bound here (so the server knows the actual addresses
# and ports, port 0 included). The control agent listens on the management address,
# the webmail on each lab address.
#
# Only the control agent's server takes over SIGTERM and SIGINT (uvicorn's way: it ends,
# so the mail server's wait() returns and the program stops every service in order);
# the webmail's leaves the process's signals alone.
from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator, Sequence

import uvicorn
from fastapi import FastAPI


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the program it runs in."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def bind_tcp(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port), not yet listening (uvicorn makes it listen)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


async def start_http(app: FastAPI, sockets: Sequence[socket.socket], name: str,
                     handles_signals: bool = False) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """Serve `app` on `sockets` in this loop; return once it accepts connections."""
    config = uvicorn.Config(app, log_level="warning")
    server = uvicorn.Server(config) if handles_signals else EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=list(sockets)), name=name)
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if task.done():
        task.result()  # the error that stopped it
    return server, task

# The mail server's HTTP services, served by uvicorn inside the server's own asyncio loop
# on sockets bound here (so the server knows the actual addresses and ports, port 0
# included): the control agent on the management address, and the webmail on each lab
# address (port 80 in compose, 8080 locally) — the lecture's third way for a user agent
# to reach its mailbox, after POP3 and IMAP.
#
# The webmail is one FastAPI app: the JSON API under /api (webmail_api.py, HTTP Basic),
# the HTML pages (webmail_pages.py, a session cookie) and the API's documentation at
# /docs, served from this server with no CDN (labctl.controller.docs). Every answer says
# nosniff: a raw message or a JSON body is never taken for a page.
#
# Only the control agent's server takes over SIGTERM and SIGINT (uvicorn's way: it ends,
# so the mail server's wait() returns and the program stops every service in order);
# the webmail's leaves the process's signals alone.
from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Generator, Sequence

import uvicorn
from fastapi import FastAPI, Request, Response

from labctl.controller.docs import serve_docs_offline
from roles.mailserver.delivery import MailRouter
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.storage import Mailboxes
from roles.mailserver.webmail_api import webmail_api_routers
from roles.mailserver.webmail_auth import SessionStore
from roles.mailserver.webmail_forms import PageError
from roles.mailserver.webmail_mailboxes import WebmailMailboxes
from roles.mailserver.webmail_pages import page_error_handler, webmail_page_router


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


def create_webmail_app(settings: MailServerSettings, mailboxes: Mailboxes, router: MailRouter,
                       sessions: SessionStore | None = None) -> FastAPI:
    """The webmail app of one mail server (sessions: a new in-memory store by default)."""
    app = FastAPI(title=f"maillab webmail of {settings.hostname}", docs_url=None,
                  redoc_url=None, openapi_url="/api/openapi.json")
    serve_docs_offline(app)
    service = WebmailMailboxes(settings, mailboxes, router)
    store = sessions or SessionStore()
    for api_router in webmail_api_routers(settings, service):
        app.include_router(api_router)
    app.include_router(webmail_page_router(settings, service, store))
    app.add_exception_handler(PageError, page_error_handler(store))

    @app.middleware("http")
    async def no_sniffing(request: Request,
                          call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    return app

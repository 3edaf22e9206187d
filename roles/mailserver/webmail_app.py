# The webmail of one mail server: an HTTP service on the server's lab addresses (port
# 80 in compose, 8080 locally), through which a user agent reads and sends mail — the
# lecture's third way to reach a mailbox, after POP3 and IMAP.
#
# One FastAPI app holds the JSON API under /api (webmail_api.py, HTTP Basic), the HTML
# pages (webmail_pages.py, a session cookie) and the API's documentation at /docs,
# served from this server with no CDN (labctl.controller.docs). Every answer says
# nosniff: a raw message or a JSON body is never taken for a page.
from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from labctl.controller.docs import serve_docs_offline
from roles.mailserver.delivery import MailRouter
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.storage import Mailboxes
from roles.mailserver.webmail_api import webmail_api_routers
from roles.mailserver.webmail_auth import SessionStore
from roles.mailserver.webmail_mailboxes import WebmailMailboxes
from roles.mailserver.webmail_pages import PageError, page_error_handler, webmail_page_router

WEBMAIL_SERVICE = "webmail"  # the lab model's name of the service


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

# The webmail's HTML side: log in, folders, a folder's messages, read one, write one,
# move, delete, log out. Pages are GETs; every change is a POST form that must carry its
# session's CSRF token and is answered with a redirect (303 See Other), so reloading a
# page never repeats an action. A request without a logged-in session is sent to the
# login form. Forms are read by webmail_forms.py, the markup is in webmail_html.py, the
# mailbox work in webmail_mailboxes.py.
# No `from __future__ import annotations`: FastAPI reads the routes' annotations at
# runtime, and the dependency aliases are local to the router factory.

import base64
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from labctl.agent_contract import SendRequest
from roles.mailserver.settings import MailServerSettings
from roles.mailserver.webmail_auth import (
    SESSION_COOKIE,
    SessionStore,
    WebSession,
    check_login,
    refuse_slowly,
    set_session_cookie,
)
from roles.mailserver.webmail_forms import PageError, SubmittedForm, read_form
from roles.mailserver.webmail_html import (
    compose_form,
    error_line,
    folder_list,
    login_form,
    message_list,
    message_page,
    page,
    path,
)
from roles.mailserver.webmail_mailboxes import (
    SENT,
    TRASH,
    WebmailMailboxes,
    error_status,
    error_text,
)

T = TypeVar("T")


def see_other(location: str) -> RedirectResponse:
    """The redirect that follows a POST (the browser GETs `location`)."""
    return RedirectResponse(location, status_code=303)


def webmail_page_router(settings: MailServerSettings, service: WebmailMailboxes,
                        sessions: SessionStore) -> APIRouter:
    """The routes of the HTML pages (not part of the API's schema)."""
    router = APIRouter(include_in_schema=False)

    def current(request: Request) -> WebSession | None:
        return sessions.get(request.cookies.get(SESSION_COOKIE))

    def logged_in(request: Request) -> WebSession:
        session = current(request)
        if session is None or session.address is None:
            raise HTTPException(303, "log in first", headers={"Location": "/login"})
        return session

    User = Annotated[WebSession, Depends(logged_in)]

    def owner(session: WebSession) -> str:
        assert session.address is not None
        return session.address

    def mailbox(action: Callable[[], T]) -> T:
        try:
            return action()
        except (KeyError, ValueError) as error:
            raise PageError(error_status(error), error_text(error)) from None

    @router.get("/")
    def home(request: Request) -> Response:
        """The start page: the folders, or the login form."""
        session = current(request)
        return see_other("/folders" if session and session.address else "/login")

    @router.get("/login")
    def login(request: Request) -> Response:
        """The login form (with an anonymous session for its CSRF token)."""
        session = current(request) or sessions.start(None)
        if session.address is not None:  # logged in already
            return see_other("/folders")
        response = page("Log in", login_form(session), session)
        set_session_cookie(response, session)
        return response

    @router.post("/login")
    async def log_in(request: Request) -> Response:
        """Check the login; a new session on success."""
        session = current(request)
        form = await read_form(request, session)
        assert session is not None
        user = check_login(settings, form.get("login"), form.get("password"))
        if user is None:
            await refuse_slowly(settings)
            return page("Log in", login_form(session, form.get("login"),
                                             "Wrong address or password."), session, 401)
        sessions.end(session.token)
        response = see_other("/folders")
        set_session_cookie(response, sessions.start(user.address))
        return response

    @router.post("/logout")
    async def log_out(request: Request) -> Response:
        """End the session."""
        session = current(request)
        await read_form(request, session)
        assert session is not None
        sessions.end(session.token)
        response = see_other("/login")
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return response

    @router.get("/folders")
    def folders(session: User) -> HTMLResponse:
        """The user's folders with their counts."""
        found = mailbox(lambda: service.folders(owner(session)))
        return page("Folders", folder_list(session, found), session)

    @router.post("/folders")
    async def create_folder(request: Request, session: User) -> Response:
        """Make a folder."""
        name = (await read_form(request, session)).get("name")
        await run_in_threadpool(mailbox, lambda: service.create_folder(owner(session), name))
        return see_other("/folders")

    @router.get("/folders/{folder}")
    def folder_messages(folder: str, session: User) -> HTMLResponse:
        """A folder's messages."""
        found = mailbox(lambda: service.messages(owner(session), folder))
        return page(folder, message_list(folder, found), session)

    @router.get("/folders/{folder}/messages/{message_id}")
    def read(folder: str, message_id: str, session: User) -> HTMLResponse:
        """One message (it is Seen from now on)."""
        message = mailbox(lambda: service.open(owner(session), folder, message_id))
        names = mailbox(lambda: service.mailboxes.folders(owner(session)))
        content = message_page(session, folder, message, names)
        return page(message.subject or "(no subject)", content, session)

    @router.post("/folders/{folder}/messages/{message_id}/move")
    async def move(folder: str, message_id: str, request: Request, session: User) -> Response:
        """Move a message to another folder."""
        to = (await read_form(request, session)).get("to")
        await run_in_threadpool(
            mailbox, lambda: service.move(owner(session), folder, message_id, to))
        session.notice = f"Moved to {to}."
        return see_other(path("folders", folder))

    @router.post("/folders/{folder}/messages/{message_id}/delete")
    async def delete(folder: str, message_id: str, request: Request, session: User) -> Response:
        """Move a message to Trash, or remove it from Trash."""
        await read_form(request, session)
        trash_id = await run_in_threadpool(
            mailbox, lambda: service.delete(owner(session), folder, message_id))
        session.notice = "Deleted." if trash_id is None else f"Moved to {TRASH}."
        return see_other(path("folders", folder))

    @router.get("/compose")
    def compose(session: User) -> HTMLResponse:
        """The form to write a message."""
        return page("Write a message", compose_form(session, {}), session)

    @router.post("/compose")
    async def send(request: Request, session: User) -> Response:
        """Send the form's message; its errors show on the form, with what was typed."""
        form = await read_form(request, session, settings.max_message_size)
        values = {name: form.get(name) for name in ("to", "subject", "body")}
        peer = request.client.host if request.client else "unknown"
        try:
            send_request = SendRequest.model_validate(send_fields(form))
            accepted = await run_in_threadpool(service.send, owner(session), send_request, peer)
        except ValidationError as error:
            problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                for e in error.errors())
            return page("Write a message", compose_form(session, values, problem), session, 422)
        except (KeyError, ValueError) as error:
            return page("Write a message", compose_form(session, values, error_text(error)),
                        session, error_status(error))
        session.notice = (f"Message sent: queued as {accepted.queue_id}, Message-ID "
                          f"{accepted.message_id}. A copy is in Sent.")
        return see_other(path("folders", SENT))

    return router


def page_error_handler(sessions: SessionStore) -> Callable[[Request, Exception], Response]:
    """The app's handler of PageError: an error page (with navigation when logged in)."""

    def handle(request: Request, error: Exception) -> Response:
        status = error.status if isinstance(error, PageError) else 500
        session = sessions.get(request.cookies.get(SESSION_COOKIE))
        return page("Error", error_line(str(error)), session, status)

    return handle


def send_fields(form: SubmittedForm) -> dict[str, object]:
    """The SendRequest fields of the message form: to, subject, body and its files."""
    return {
        "to": form.get("to"), "subject": form.get("subject"),
        "body": form.get("body").replace("\r\n", "\n"),  # a textarea sends CRLF
        "attachments": [{"filename": upload.filename, "content_type": upload.content_type,
                         "data": base64.b64encode(upload.data).decode("ascii")}
                        for upload in form.files],
    }

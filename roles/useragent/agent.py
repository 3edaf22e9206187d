# The user agent's control agent: a small HTTP API on the management network only,
# through which the controller (and only it: see labctl.agent_auth) makes Alice send
# and Bob fetch. Control traffic never crosses a lab link, so it never shows up in a
# capture. The request and response models are the shared contract in
# labctl.agent_contract; a request no message can be made of is a 422 naming the field.
# A fetch runs the client of its protocol: POP3 (mail_clients), IMAP (imap_client) or
# HTTP (webmail_client, the server's webmail); a send goes by SMTP submission, or through
# the webmail, which composes the message itself and queues it on its server. An SMTP
# session typed as at telnet runs from the agent's address (roles.smtp_session); a
# student's program replacing the role runs here too (roles.student_program).
from __future__ import annotations

import asyncio
import imaplib
import poplib
import smtplib
from email.message import EmailMessage

from fastapi import APIRouter, Depends, FastAPI, HTTPException

from labctl.agent_contract import (
    FETCH_PATH,
    SEND_PATH,
    FetchRequest,
    FetchResult,
    SendRequest,
    SendResult,
)
from labctl.agent_guard import AgentGuard
from labctl.model import Addressing
from roles.mailserver.storage import header_value
from roles.smtp_session import smtp_session_router
from roles.student_program import program_router
from roles.useragent.compose_message import ComposeError, compose_message, message_bytes
from roles.useragent.imap_client import ImapError, fetch_imap
from roles.useragent.mail_clients import Account, Endpoint, Submitted, fetch_pop3, submit
from roles.useragent.webmail_client import WebmailError, fetch_webmail, send_webmail

FETCH_ERRORS = (OSError, EOFError, poplib.error_proto, imaplib.IMAP4.error, ImapError,
                WebmailError)
# The mail server's service each fetch protocol talks to.
FETCH_SERVICES = {"pop3": "pop3", "imap": "imap", "http": "webmail"}


def create_agent_app(role_name: str, plan: Addressing, guard: AgentGuard | None = None) -> FastAPI:
    """The control agent of user-agent role `role_name` (guard: from the environment)."""
    lab = plan.lab
    role = lab.role(role_name)
    if role.user is None or role.server is None:
        raise ValueError(f"role {role_name} is not a user agent")
    user = lab.user(role.user)
    account = Account(user.address, user.password)
    server_role: str = role.server
    network = plan.shared_network(role.name, server_role)
    source = plan.address(role, network)
    server_host = plan.address(server_role, network)
    app = FastAPI(title=f"maillab {role_name} control agent")
    controller_only = APIRouter(dependencies=[Depends(guard or AgentGuard.from_env())])

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"role": role_name, "status": "ok"}

    @controller_only.post(SEND_PATH)
    async def send(request: SendRequest) -> SendResult:
        if request.via == "webmail":
            return await send_by_webmail(request)
        rendered: list[EmailMessage] = []  # the last one is the one sent

        def render(eight_bit: bool) -> bytes:
            rendered.append(compose_message(account.address, request, eight_bit))
            return message_bytes(rendered[-1])

        try:
            render(False)  # a request no message can be made of fails before any connection
        except ComposeError as error:
            raise HTTPException(422, str(error)) from None
        server = Endpoint(server_host, plan.port(server_role, "submission"))
        try:
            sent = await asyncio.to_thread(submit, render, request.to, server, account, source)
        except (OSError, smtplib.SMTPException) as error:
            detail = f"submission to {server.host}:{server.port} failed: {error}"
            raise HTTPException(502, detail) from None
        return SendResult(
            message_id=str(rendered[-1]["Message-ID"]), server_reply=sent.reply,
            raw=sent.message.decode("utf-8", "replace"),
        )

    async def send_by_webmail(request: SendRequest) -> SendResult:
        server = Endpoint(server_host, plan.port(server_role, "webmail"))
        try:
            sent: Submitted = await asyncio.to_thread(send_webmail, request, server, account,
                                                      source)
        except WebmailError as error:
            raise HTTPException(502, f"send via webmail failed: {error}") from None
        return SendResult(message_id=header_value(sent.message, "Message-ID") or "",
                          server_reply=sent.reply, raw=sent.message.decode("utf-8", "replace"))

    @controller_only.post(FETCH_PATH)
    async def fetch(request: FetchRequest) -> FetchResult:
        server = Endpoint(server_host, plan.port(server_role, FETCH_SERVICES[request.protocol]))
        folders = None
        try:
            if request.protocol == "imap":
                fetched = await asyncio.to_thread(fetch_imap, server, account, source, request)
                raw, folders = fetched.messages, fetched.folders
            elif request.protocol == "http":
                raw = await asyncio.to_thread(fetch_webmail, server, account, source,
                                              request.delete, request.folder)
            else:
                raw = await asyncio.to_thread(fetch_pop3, server, account, source,
                                              request.delete)
        except FETCH_ERRORS as error:
            detail = (f"{request.protocol.upper()} fetch from {server.host}:{server.port} "
                      f"failed: {error}")
            raise HTTPException(502, detail) from None
        return FetchResult(protocol=request.protocol, folders=folders,
                           messages=[m.decode("utf-8", "replace") for m in raw])

    controller_only.include_router(smtp_session_router(plan, role_name))
    controller_only.include_router(program_router(plan, role_name))
    app.include_router(controller_only)
    return app

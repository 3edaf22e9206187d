# The user agent's control agent: a small HTTP API on the management network only,
# through which the controller makes Alice send and Bob fetch. Control traffic never
# crosses a lab link, so it never shows up in a capture.
from __future__ import annotations

import asyncio
import poplib
import smtplib
from typing import Literal

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from labctl.model import Addressing
from roles.useragent.compose_message import compose_message
from roles.useragent.mail_clients import Account, Endpoint, fetch_pop3, submit


class SendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str = Field(min_length=3, pattern=r"^[^@\s]+@[^@\s]+$")
    subject: str = ""
    body: str = ""
    headers: dict[str, str] = Field(default_factory=dict)


class SendResult(BaseModel):
    message_id: str
    server_reply: str
    raw: str  # the message exactly as submitted


class FetchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    protocol: Literal["pop3"] = "pop3"
    delete: bool = False


class FetchResult(BaseModel):
    protocol: str
    messages: list[str]  # raw RFC 5322 text of each message fetched


def create_agent_app(role_name: str, plan: Addressing) -> FastAPI:
    """The control agent of user-agent role `role_name`."""
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

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"role": role_name, "status": "ok"}

    @app.post("/send")
    async def send(request: SendRequest) -> SendResult:
        message = compose_message(
            account.address, request.to, request.subject, request.body, request.headers
        )
        server = Endpoint(server_host, plan.port(server_role, "submission"))
        try:
            reply = await asyncio.to_thread(submit, message, server, account, source)
        except (smtplib.SMTPException, OSError) as error:
            detail = f"submission to {server.host}:{server.port} failed: {error}"
            raise HTTPException(502, detail) from None
        return SendResult(
            message_id=str(message["Message-ID"]), server_reply=reply,
            raw=message.as_bytes().decode("utf-8", "replace"),
        )

    @app.post("/fetch")
    async def fetch(request: FetchRequest) -> FetchResult:
        server = Endpoint(server_host, plan.port(server_role, "pop3"))
        try:
            raw = await asyncio.to_thread(fetch_pop3, server, account, source, request.delete)
        except (OSError, EOFError, poplib.error_proto) as error:
            detail = f"POP3 fetch from {server.host}:{server.port} failed: {error}"
            raise HTTPException(502, detail) from None
        return FetchResult(
            protocol=request.protocol, messages=[m.decode("utf-8", "replace") for m in raw]
        )

    return app

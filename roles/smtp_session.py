# An SMTP session typed by hand, as a student does at telnet: connect from the role's own
# lab address to a mail server's SMTP port, read the greeting, then send each line and
# read the reply after it, except for the message lines after a 354, which go out one
# after the other until the lone "." (a human types the whole message, then waits).
# User agents and mallory serve it on their control agents (SMTP_SESSION_PATH), so the
# capture shows the connection on the hop from that role, as a real telnet would.
from __future__ import annotations

import asyncio
import socket
from typing import BinaryIO

from fastapi import APIRouter, HTTPException

from labctl.agent_contract import (
    SMTP_SESSION_PATH,
    SmtpExchange,
    SmtpSessionRequest,
    SmtpSessionResult,
)
from labctl.model import INTERNET, Addressing
from labctl.protocols import smtp

SESSION_TIMEOUT_SECONDS = 30.0


def read_reply(reader: BinaryIO) -> str:
    """One SMTP reply (its continuation lines too), joined by "\\n"; "" at end of stream.
    Whether a line is the last is the reply grammar's rule (labctl.protocols.smtp); a
    line that is no reply line ends the reply, as a person at telnet would read it."""
    lines: list[str] = []
    while True:
        raw = reader.readline(1024)
        if not raw:
            return "\n".join(lines)
        lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
        try:
            _, last, _ = smtp.parse_reply_line(raw)
        except smtp.ProtocolError:
            last = True
        if last:
            return "\n".join(lines)


def run_session(server: tuple[str, int], source: str, lines: list[str],
                timeout: float = SESSION_TIMEOUT_SECONDS) -> SmtpSessionResult:
    """Talk to `server` from `source` line by line; the greeting and each exchange."""
    with socket.create_connection(server, timeout=timeout, source_address=(source, 0)) as sock, \
            sock.makefile("rb") as reader:
        greeting = read_reply(reader)
        exchanges: list[SmtpExchange] = []
        pending: list[str] = []
        in_message = False
        for line in lines:
            sock.sendall(line.encode("utf-8") + b"\r\n")
            pending.append(line)
            if in_message and line != ".":
                continue
            reply = read_reply(reader)
            exchanges.append(SmtpExchange(sent=pending, reply=reply))
            pending, in_message = [], reply.startswith("354")
            if not reply or reply.startswith("221"):
                break
    return SmtpSessionResult(greeting=greeting, exchanges=exchanges)


def route_to(plan: Addressing, role: str, server: str) -> tuple[tuple[str, int], str]:
    """`server`'s SMTP port as `role` reaches it, and `role`'s address to connect from: on
    a network they share, else the server's internet address from the role's own lab
    network (a path around the sender's server)."""
    try:
        network = plan.shared_network(role, server)
        source = plan.address(role, network)
    except KeyError:
        network = INTERNET
        source = plan.address(role, plan.lab.role(role).networks[0])
    return (plan.address(server, network), plan.port(server, "smtp")), source


def smtp_session_router(plan: Addressing, role: str) -> APIRouter:
    """The agent route that runs a hand-typed SMTP session from `role`'s lab address."""
    router = APIRouter()

    @router.post(SMTP_SESSION_PATH)
    async def smtp_session(request: SmtpSessionRequest) -> SmtpSessionResult:
        try:
            if plan.lab.role(request.server).program != "mailserver":
                raise KeyError(request.server)
        except KeyError:
            raise HTTPException(422, f"server: {request.server} is not a lab mail server") \
                from None
        address, source = route_to(plan, role, request.server)
        try:
            return await asyncio.to_thread(run_session, address, source, request.lines)
        except OSError as error:
            raise HTTPException(502, f"SMTP session with {address[0]}:{address[1]} failed: "
                                     f"{error}") from None

    return router

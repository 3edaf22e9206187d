# Our mail servers and Postfix relay to each other over SMTP on loopback: our sender-mta
# pushes into a Postfix that plays mail.hamburger.edu, and a Postfix that plays
# mail.crepes.fr pushes into our receiver-mta. The message must arrive intact, once.
from __future__ import annotations

import asyncio
import smtplib
import socket
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default

from tests.peers.postfix import running_postfix
from tests.roles.conftest import (
    RECEIVER_INTERNET,
    SENDER_INTERNET,
    StartServer,
    free_port,
    wait_until,
)

ALICE, ALICE_PW, BOB = "alice@crepes.fr", "alice-pw", "bob@hamburger.edu"


def _message(subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = ALICE, BOB, subject
    message["Message-ID"] = f"<{subject.replace(' ', '-')}@crepes.fr>"
    message.set_content("Do you like ketchup?\n.How about pickles?\n")
    return message


def _accepting(address: tuple[str, int]) -> bool:
    try:
        socket.create_connection(address, timeout=1).close()
    except OSError:
        return False
    return True


def _submit(address: tuple[str, int], message: EmailMessage, login: bool) -> None:
    with smtplib.SMTP(*address, timeout=30) as client:
        client.ehlo("alice-pc.crepes.fr")
        if login:
            client.login(ALICE, ALICE_PW)
        client.send_message(message)


def _parse(raw: bytes) -> EmailMessage:
    parsed = BytesParser(policy=default).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    return parsed


async def test_our_sender_mta_relays_into_postfix(start_server: StartServer) -> None:
    listen = (RECEIVER_INTERNET, free_port(RECEIVER_INTERNET))
    with running_postfix("mail.hamburger.edu", listen, domain="hamburger.edu") as postfix:
        await wait_until(lambda: _accepting(listen), timeout=30)
        sender = await start_server("sender-mta", peer_smtp_ports={"receiver-mta": listen[1]})
        await asyncio.to_thread(_submit, sender.address("submission"),
                                _message("to postfix"), True)
        await wait_until(lambda: bool(postfix.delivered("bob")), timeout=30)
        (raw,) = postfix.delivered("bob")
        log = postfix.log()
    got = _parse(raw)
    assert got["Message-ID"] == "<to-postfix@crepes.fr>"
    assert got.get_content().replace("\r\n", "\n") == "Do you like ketchup?\n.How about pickles?\n"
    received = got.get_all("Received")
    assert "by mail.hamburger.edu (Postfix)" in received[0]
    assert "by mail.crepes.fr" in received[1], received
    assert "from mail.crepes.fr" in log or f"[{SENDER_INTERNET}]" in log


async def test_postfix_relays_into_our_receiver_mta(start_server: StartServer) -> None:
    receiver = await start_server("receiver-mta")
    listen = (SENDER_INTERNET, free_port(SENDER_INTERNET))
    with running_postfix("mail.crepes.fr", listen, relay_to=receiver.address("smtp"),
                         bind_address=SENDER_INTERNET):
        await wait_until(lambda: _accepting(listen), timeout=30)
        await asyncio.to_thread(_submit, listen, _message("from postfix"), False)
        await wait_until(lambda: bool(receiver.mailboxes.list(BOB)), timeout=30)
    (stored,) = receiver.mailboxes.list(BOB)
    got = _parse(receiver.mailboxes.read(BOB, stored.id))
    assert got["Message-ID"] == "<from-postfix@crepes.fr>"
    assert got.get_content().replace("\r\n", "\n") == "Do you like ketchup?\n.How about pickles?\n"
    received = got.get_all("Received")
    assert "by mail.hamburger.edu" in received[0] and f"[{SENDER_INTERNET}]" in received[0]
    assert "by mail.crepes.fr (Postfix)" in received[1], received

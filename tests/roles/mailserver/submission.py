# Alice and Bob as the mail-server tests use them: their addresses, a message, and a
# submission on port 587 with AUTH through Python's smtplib (a real client).
from __future__ import annotations

import smtplib
from email.message import EmailMessage

from tests.conftest import TEST_PLAN

ALICE, BOB = "alice@crepes.fr", "bob@hamburger.edu"
ALICE_PC = TEST_PLAN.address("sender-ua", "alice-lan")  # the client of Alice's submissions


def make_message(sender: str, to: str, subject: str, body: str = "hello\n") -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = f"<{subject.replace(' ', '-')}@test>"
    message.set_content(body)
    return message


def submit(address: tuple[str, int], message: EmailMessage, login: str = "alice",
           password: str = "alice-pw", mechanism: str = "PLAIN") -> None:
    """Submit over port 587 with AUTH (blocking; run it in a thread)."""
    with smtplib.SMTP(*address, timeout=10, source_address=(ALICE_PC, 0)) as client:
        client.ehlo("alice-pc.crepes.fr")
        client.user, client.password = login, password
        client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"))
        client.send_message(message)

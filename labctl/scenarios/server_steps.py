# The steps that act on a mail server rather than through a user agent's mail program:
# take it down or bring it back up (the lecture's "receiver down"), wait until a message
# waits in its outgoing queue or a mailbox folder fills, retry its queue now, and talk
# SMTP to it by hand from a
# role, as at telnet (spoofing from mallory, an open-relay attempt, the exact dialog).
# They live apart from schema.py, which lists them among the step kinds, so that the
# scenario format's main module stays about the whole file.
#
# A server step only names the server and what to do; the runner does it through
# LabActions.set_server, queue and flush, and brings every server a run took down back
# up when the run ends, whatever happened, so that one scenario never leaves the lab
# broken for the next.
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from labctl.agent_contract import MAX_SESSION_LINES, SessionLine
from labctl.scenarios.fields import Strict, hands_on_role, mail_address, mail_server

ServerState = Literal["down", "up"]


class ServerStep(Strict):
    """Take a mail server down (its lab addresses refuse connections, open ones are cut,
    its queue and mailboxes kept) or bring it back up."""

    role: str = "receiver-mta"
    state: ServerState

    _role = field_validator("role")(mail_server)

    @property
    def up(self) -> bool:
        """True when the step brings the server up."""
        return self.state == "up"


class WaitQueuedStep(Strict):
    """Wait until `messages` messages wait in the server's outgoing queue, each after at
    least `attempts` delivery attempts (the relay tried and failed), at most `timeout_s`."""

    role: str = "sender-mta"
    messages: int = Field(1, ge=1)
    attempts: int = Field(1, ge=0)
    timeout_s: float = Field(30.0, gt=0)

    _role = field_validator("role")(mail_server)


class WaitMailboxStep(Strict):
    """Wait until `folder` of `address`'s mailbox, as its server stores it, holds at least
    `count` messages (a bounce in Alice's INBOX, say), at most `timeout_s`."""

    address: str
    folder: str = "INBOX"
    count: int = Field(1, ge=1)
    timeout_s: float = Field(30.0, gt=0)

    _address = field_validator("address")(mail_address)


class FlushStep(Strict):
    """Make every message waiting in the server's outgoing queue due now (a retry)."""

    role: str = "sender-mta"

    _role = field_validator("role")(mail_server)


class SendRawStep(Strict):
    """An SMTP session typed by hand from role `from` (mallory, or a user agent) to mail
    server `to_role`'s SMTP port: each line sent, the reply awaited after each (after a
    354, the message lines go out until the lone "."), from the role's own address."""

    from_: str = Field("mallory", alias="from")
    to_role: str = "receiver-mta"
    lines: list[SessionLine] = Field(min_length=1, max_length=MAX_SESSION_LINES)

    _from = field_validator("from_")(hands_on_role)
    _to = field_validator("to_role")(mail_server)

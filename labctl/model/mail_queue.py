# The wire contract of a mail server's outgoing queue, shared by the server's control
# agent (which serves it) and the controller and labctl (which pass it on and print it).
#
# One entry per queued message. `state` is "queued" for a message waiting for (or in)
# a delivery attempt and "failed" for one that bounced and is kept for inspection.
# Queue ids are the server's unique message names (QUEUE_ID_PATTERN); anything else is
# refused with 422 before it reaches a file name.
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

QUEUE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


class QueueEntry(BaseModel):
    """One message in a mail server's outgoing queue."""

    id: str
    mail_from: str  # the envelope sender ("" for a bounce)
    rcpt_tos: list[str]  # the recipients still to deliver
    attempts: int
    last_error: str | None
    next_attempt: float  # unix time
    message_id: str | None  # the Message-ID header
    created: float  # unix time the message was queued
    state: Literal["queued", "failed"] = "queued"


class FlushResult(BaseModel):
    """What POST /queue/flush did."""

    flushed: int  # messages made due now


class DeleteResult(BaseModel):
    """What DELETE /queue/{id} did."""

    deleted: str

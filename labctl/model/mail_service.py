# The wire contract to take a mail server down and bring it back, as the lecture's
# "receiver down" needs: the controller PUTs it to the server's control agent. While
# down, the server answers nothing on its lab addresses (SMTP, submission, POP3, IMAP
# and webmail refuse connections, and the open ones are cut) but keeps its queue and
# mailboxes and its control agent; its relay keeps its queue and retries later.
from __future__ import annotations

from pydantic import BaseModel, ConfigDict

SERVICE_PATH = "/service"


class ServiceState(BaseModel):
    """Whether a mail server serves its lab addresses (True) or is down (False)."""

    model_config = ConfigDict(extra="forbid")

    up: bool

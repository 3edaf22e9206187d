# The wire contract of student programs: a program that replaces a role (the classic
# socket-programming SMTP client replacing Alice's user agent, say) is sent by the
# controller to that role's control agent, which runs it where the role lives and
# answers how it ended. Defined once, here, for `labctl run --role`, POST /runs, the
# controller and the agents.
#
# A program is a shell command and the folder it runs in, packed as a .tar.gz
# (program_bundle.py) and sent base64-encoded. The agent gives it the addresses of the
# lab's mail servers in environment variables (labctl.model.program_targets). What the
# program says about itself (its exit status and output) goes into the report as
# information only: the grade comes from the captures and the stored mail.
from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

PROGRAM_PATH = "/program"
MAX_BUNDLE_BYTES = 20 * 1024 * 1024  # the packed folder (.tar.gz), before base64
MAX_COMMAND_CHARS = 4096
MAX_PROGRAM_SECONDS = 3600.0
MAX_OUTPUT_CHARS = 64 * 1024  # longer output loses its middle, never its start or end
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _command(text: str) -> str:
    if not text.strip():
        raise ValueError("the command is empty")
    if _CONTROL.search(text):
        raise ValueError("the command must be one line without control characters")
    return text


def _bundle(text: str) -> str:
    try:
        packed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the bundle must be base64 (a .tar.gz of the program's folder)") from None
    if len(packed) > MAX_BUNDLE_BYTES:
        raise ValueError(f"the program's folder packs to {len(packed)} bytes, more than "
                         f"{MAX_BUNDLE_BYTES}")
    return text


Command = Annotated[str, Field(max_length=MAX_COMMAND_CHARS), AfterValidator(_command)]
Bundle = Annotated[str, AfterValidator(_bundle)]


class ProgramSpec(BaseModel):
    """A program that replaces a role: a shell command run in its folder (packed)."""

    model_config = ConfigDict(extra="forbid")
    command: Command
    bundle: Bundle  # base64 of the folder as a .tar.gz (labctl.program_bundle.pack_folder)


class ProgramRequest(ProgramSpec):
    """Run a program on a role's agent, stopped after `timeout_s` seconds."""

    timeout_s: float = Field(gt=0, le=MAX_PROGRAM_SECONDS)


class ProgramResult(BaseModel):
    """How a program ended: exit status (None when it was stopped), output, time taken."""

    exit_status: int | None
    timed_out: bool
    duration_s: float
    output: str  # stdout and stderr interleaved as written; see MAX_OUTPUT_CHARS
    environment: dict[str, str]  # the lab addresses it was given (MAIL_SERVER, ...)

# The step that runs a student's program in place of a role (student mode):
#
#     - program:
#         role: sender-ua              # the role the program replaces (a user agent, mallory)
#         timeout_s: 30                # stopped then, and graded on what it did
#         reference:                   # run when no --role ROLE=COMMAND replaces the role
#           command: python3 smtp_client.py
#           folder: programs/smtp-client   # relative to the scenario file
#
# Which program runs comes with the run, not the scenario: `labctl run SCENARIO --role
# sender-ua=COMMAND` (the folder it runs in packed with it, labctl.program_bundle), or
# else the scenario's reference program, so that the library runs unattended. The
# runner sends it to the role's agent (labctl.program_contract), which runs it where
# the role lives with MAIL_SERVER, SENDER_MTA and RECEIVER_MTA set. Its exit status and
# output go into the report's `programs`; the checks grade the captures and the mail.
from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from labctl.program_bundle import pack_folder
from labctl.program_contract import MAX_PROGRAM_SECONDS, Command, ProgramSpec
from labctl.scenarios.fields import Strict, hands_on_role


class ReferenceProgram(Strict):
    """A program shipped with the scenario: a command run in `folder` (relative to the
    scenario file)."""

    command: Command
    folder: str = Field(min_length=1)

    def spec(self, scenario_file: Path) -> ProgramSpec:
        """The program to send, its folder packed (BundleError when it cannot be)."""
        return ProgramSpec(command=self.command,
                           bundle=pack_folder(scenario_file.parent / self.folder))


class ProgramStep(Strict):
    """Run the program that replaces `role` (a user agent or mallory), at most `timeout_s`."""

    role: str = "sender-ua"
    timeout_s: float = Field(30.0, gt=0, le=MAX_PROGRAM_SECONDS)
    reference: ReferenceProgram | None = None

    _role = field_validator("role")(hands_on_role)

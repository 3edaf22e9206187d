# The scenario file format: pydantic models (extra fields forbidden) and its JSON Schema.
#
# The format itself is documented in the module docstring below (help(labctl.scenarios.schema)).
"""Scenario file format.

A scenario is what an instructor writes to grade one exercise. It lives in
`scenarios/<name>.yaml` and reads top to bottom:

    name: basic-delivery
    description: Alice sends Bob one message; Bob fetches it over POP3.
    setup:
      fetch_protocol: pop3          # default protocol of `fetch` steps (pop3 | imap | http)
      # lab options for this run (labctl.model.options.LabOptions), each optional: unset
      # keeps the lab's own (MAILLAB_* of `labctl up`). Every mail server takes them
      # before the steps and gets its own back after the run, however it ends.
      spf: junk                     # off | junk (SPF failures filed in Junk) | reject (550)
      trust_lan: false              # port 25 relays for the server's own LAN
      relay_concurrency: 1          # connections per destination server (1 to 100)
      sender_login_match: true      # on 587 the MAIL FROM must be the logged-in user's
    steps:                          # run in order; each step is a one-key mapping
      - send:                       # a user agent submits a message to its server
          from: sender-ua           # the role sending (default sender-ua)
          to: bob@hamburger.edu
          subject: Hello Bob
          body: Are you coming tonight?
          headers: {X-Exercise: "1"}   # optional extra headers
          via: smtp                 # smtp (submission, the default) or webmail
      - wait_delivered:             # until the last message sent to `to` is in its mailbox
          to: bob@hamburger.edu
          timeout_s: 30
      - fetch:                      # a user agent downloads its mailbox
          role: receiver-ua
          protocol: pop3            # default: setup.fetch_protocol
          # delete, and with imap: folder, headers_only, part, partial, move_to,
          # idle_seconds, list_folders (labctl.agent_contract.FetchOptions)
          delete: false             # POP3 download-and-delete or download-and-keep
      - server:                     # take a mail server down (its lab addresses refuse
          role: receiver-mta        # connections, open ones are cut; queue and mailboxes
          state: down               # kept) or bring it back up; a run ends with every
      #                               server it took down brought back up
      - wait_queued:                # until `messages` messages wait in that server's
          role: sender-mta          # outgoing queue, each after at least `attempts`
          messages: 1               # delivery attempts
          attempts: 1
          timeout_s: 30
      - flush:                      # retry that server's queue now
          role: sender-mta
      - send_raw:                   # an SMTP session typed as at telnet, from the role's
          from: mallory             # own address (mallory or a user agent) to a mail
          to_role: receiver-mta     # server's SMTP port: each line sent, its reply
          lines: [EHLO mallory.internet.test, "MAIL FROM:<alice@crepes.fr>",  # awaited
                  "RCPT TO:<bob@hamburger.edu>", DATA, "Subject: hi", "", Hi Bob, ., QUIT]
      - wait_mailbox:               # until a mailbox folder, as its server stores it,
          address: alice@crepes.fr  # holds at least `count` messages (a bounce, say)
          folder: INBOX
          count: 1
          timeout_s: 30
      - program:                    # run the program that replaces a role (student mode:
          role: sender-ua           # `labctl run --role sender-ua=COMMAND`), stopped after
          timeout_s: 30             # timeout_s; without --role, the reference program
          reference: {command: python3 smtp_client.py, folder: programs/smtp-client}
      - exercise:                   # the student works by hand while the captures run:
          prompt: >                 # an attended run shows the prompt and waits until
            Open a shell on mallory (labctl shell mallory) and send Bob a message that
            claims to come from alice@crepes.fr. Press Enter here when done.
          timeout_s: 900            # the student says done, or timeout_s passed (then
          stand_in:                 # what was captured is graded); an unattended run
            - send_raw: {from: mallory, to_role: receiver-mta, lines: [...]}
      #                               (tests, CI) runs the stand_in steps instead (any
      #                               steps but an exercise; nothing refers to them)
    checks:                         # graded from the captures and the servers' stored
    #                                 state; `type` picks the check
      - {name: ..., points: 1, type: hop_protocol, hop: sender-ua -> sender-mta, expect: SMTP}
      - {name: ..., points: 2, type: smtp_dialog, hop: sender-mta -> receiver-mta}
      - {name: ..., points: 2, type: message_received, role: receiver-ua, of_step: last send}
      - {name: ..., points: 1, type: hop_absent, hop: sender-ua -> receiver-mta, protocol: SMTP}
      - {name: ..., points: 1, type: mailbox_state, address: bob@hamburger.edu, count: 1,
         feedback: {fail: "Download-and-keep leaves the message on the server."}}

Every check has `name`, `points` (earned when it passes, nothing otherwise) and an
optional `feedback: {pass: ..., fail: ...}` added to its output for the student. Its
output says what was expected, what was observed and on which hop. The check types
(labctl.scenarios.checks; `labctl scenario schema` prints their fields) are listed at
the end of this text.

Steps are numbered from 0 as in error messages (`steps[0]`); `of_step` (and `holds`,
`lacks`) is such an index or "last send". Roles and hops are checked against
labctl.model.LAB when loaded: a `hop` is a LAB link ("sender-mta -> receiver-mta"),
except where a check says any two lab roles (a path around a server, such as
"sender-ua -> receiver-mta"). Protocol names are SMTP, POP3, IMAP, HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import (
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from labctl.agent_contract import (
    FetchOptions,
    FetchProtocol,
    FetchRequest,
    SendVia,
    fetch_option_problem,
)
from labctl.model.options import LabOptionChanges
from labctl.scenarios.checks import AnyCheck, CheckSpec, checks_help
from labctl.scenarios.exercise import ExerciseStep
from labctl.scenarios.fields import LAST_SEND, FieldProblem, Strict, mail_address, user_agent
from labctl.scenarios.program_step import ProgramStep
from labctl.scenarios.server_steps import (
    FlushStep,
    SendRawStep,
    ServerStep,
    WaitMailboxStep,
    WaitQueuedStep,
)


class Setup(Strict, LabOptionChanges):
    """How the run starts: the fetch steps' default protocol and the lab options it sets."""

    fetch_protocol: FetchProtocol = "pop3"

    @field_validator("fetch_protocol", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("spf", mode="before")
    @classmethod
    def _bare_off(cls, value: Any) -> Any:
        return "off" if value is False else value  # YAML reads a bare `spf: off` as false


class SendStep(Strict):
    from_: str = Field("sender-ua", alias="from")
    to: str
    subject: str
    body: str
    headers: dict[str, str] = Field(default_factory=dict)
    via: SendVia = "smtp"

    _role = field_validator("from_")(user_agent)
    _to = field_validator("to")(mail_address)


class WaitDeliveredStep(Strict):
    to: str
    timeout_s: float = Field(30.0, gt=0)

    _to = field_validator("to")(mail_address)


class FetchStep(Strict, FetchOptions):
    """A fetch: the agents' FetchOptions (delete, folder, part...) plus who and how."""

    role: str = "receiver-ua"
    protocol: FetchProtocol | None = None  # None: the scenario's setup.fetch_protocol

    _role = field_validator("role")(user_agent)

    @field_validator("protocol", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


Action = (SendStep | WaitDeliveredStep | FetchStep | ServerStep | WaitQueuedStep | FlushStep
          | SendRawStep | WaitMailboxStep | ProgramStep | ExerciseStep)
STEP_KEYS = ("send", "wait_delivered", "fetch", "server", "wait_queued", "flush", "send_raw",
             "wait_mailbox", "program", "exercise")


class Step(Strict):
    """One step: a mapping with exactly one of the keys of STEP_KEYS."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})

    send: SendStep | None = None
    wait_delivered: WaitDeliveredStep | None = None
    fetch: FetchStep | None = None
    server: ServerStep | None = None
    wait_queued: WaitQueuedStep | None = None
    flush: FlushStep | None = None
    send_raw: SendRawStep | None = None
    wait_mailbox: WaitMailboxStep | None = None
    program: ProgramStep | None = None
    exercise: ExerciseStep | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Step:
        given = [k for k in STEP_KEYS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"a step has exactly one of the keys {', '.join(STEP_KEYS)}")
        return self

    @model_serializer(mode="wrap")
    def _only_the_action(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if value is not None}

    @property
    def kind(self) -> str:
        """The step's key: one of STEP_KEYS."""
        return next(k for k in STEP_KEYS if getattr(self, k) is not None)

    @property
    def action(self) -> Action:
        """The one action this step holds."""
        action: Action = getattr(self, self.kind)
        return action


ExerciseStep.model_rebuild(_types_namespace={"Step": Step})  # a stand-in holds Steps
Step.model_rebuild()

Check = CheckSpec  # any check type (labctl.scenarios.checks)


class Scenario(Strict):
    """A graded exercise: optional setup, steps run in order, checks with points."""

    name: str = Field(min_length=1)
    description: str = ""
    setup: Setup = Field(default_factory=Setup)
    steps: list[Step] = Field(min_length=1)
    checks: list[AnyCheck] = Field(min_length=1)

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        sent_to: set[str] = set()
        for where, step, stand_in in self.step_paths():
            action = step.action
            if isinstance(action, SendStep) and not stand_in:  # a stand-in's is the student's
                sent_to.add(action.to)
            elif isinstance(action, WaitDeliveredStep) and action.to not in sent_to:
                raise FieldProblem(
                    f"{where}.wait_delivered.to", f"no earlier send step to {action.to}"
                )
            elif isinstance(action, FetchStep):
                problem = fetch_option_problem(action, self.fetch_protocol(action))
                if problem:
                    name, _, why = problem.partition(": ")
                    raise FieldProblem(f"{where}.fetch.{name}", why)
        for i, check in enumerate(self.checks):
            mismatch = check.scenario_problem(self)
            if mismatch is not None:
                raise FieldProblem(f"checks[{i}].{mismatch[0]}", mismatch[1])
        return self

    def step_paths(self) -> Iterator[tuple[str, Step, bool]]:
        """Every step in run order with its path ("steps[3].exercise.stand_in[0]") and
        whether it is an exercise's stand-in step."""
        for i, step in enumerate(self.steps):
            yield f"steps[{i}]", step, False
            if isinstance(step.action, ExerciseStep):
                for j, inner in enumerate(step.action.stand_in):
                    yield f"steps[{i}].exercise.stand_in[{j}]", inner, True

    def send_index(self, of_step: int | str) -> int:
        """Resolve `of_step` (an index or "last send") to the index of a send step."""
        sends = [i for i, s in enumerate(self.steps) if isinstance(s.action, SendStep)]
        if of_step == LAST_SEND:
            if not sends:
                raise ValueError('"last send": the scenario has no send step')
            return sends[-1]
        if of_step not in sends:
            raise ValueError(f"steps[{of_step}] is not a send step")
        assert isinstance(of_step, int)
        return of_step

    def program_steps(self) -> list[ProgramStep]:
        """The steps that run a program in place of a role (student mode)."""
        return [s.action for s in self.steps if isinstance(s.action, ProgramStep)]

    def fetch_protocol(self, step: FetchStep) -> FetchProtocol:
        """The protocol a fetch step uses: its own, else the setup's default."""
        return step.protocol or self.setup.fetch_protocol

    def fetch_request(self, step: FetchStep) -> FetchRequest:
        """What a fetch step asks its user agent (the agents' own contract)."""
        options = step.model_dump(include=set(FetchOptions.model_fields))
        return FetchRequest(protocol=self.fetch_protocol(step), **options)


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (for editors and the controller's OpenAPI)."""
    return Scenario.model_json_schema(by_alias=True)


__doc__ = f"{__doc__}\nCheck types:\n{checks_help()}\n"

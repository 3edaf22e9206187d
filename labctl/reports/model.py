# The report of a scenario run: the JSON contract between controller, CLI and graders.
#
# Keys are a stable contract: later work may add keys, never rename or remove them.
# Reading tolerates unknown keys (extra="ignore") so an older CLI still reads a newer
# controller's report; writing emits exactly the fields declared here.
#
#   {scenario, backend, score, max_score, passed,
#    checks: [{name, passed, score, max_score, output}],
#    hops:   [{client_role, server_role, network, protocols, pcap,
#              conversations: [{client, server, protocol, transcript}]}]}
#
# Added since (each with a default, so a report without them still reads):
#   hops[]: problems, comments, incomplete (about the capture file)
#   conversations[]: hop, transport, start, end, phases, tls, problems,
#     smtp_transactions, pop3_actions, pop3_reached_update, imap_actions,
#     http_exchanges, dns_queries, pipelined_commands (see conversation.py)
#   programs: [{role, command, exit_status, timed_out, duration_s, output}] (student
#     programs that replaced a role; information only, never graded)
from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from labctl.analysis.results import Hop
from labctl.program_contract import ProgramResult
from labctl.reports.conversation import Contract, ConversationReport


class CheckResult(Contract):
    """The outcome of one check: points earned out of points possible, and why."""

    name: str
    passed: bool
    score: float
    max_score: float
    output: str


class HopReport(Contract):
    """All conversations between two roles (None: a host that is not a lab role)."""

    client_role: str | None
    server_role: str | None
    network: str
    protocols: list[str]
    pcap: str
    conversations: list[ConversationReport] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)  # about the capture file itself
    comments: list[str] = Field(default_factory=list)  # the capture file's own comments
    incomplete: bool = False  # part of the capture file could not be read

    @classmethod
    def from_hop(cls, hop: Hop) -> HopReport:
        """Summarize an analysed hop."""
        return cls(
            client_role=hop.client_role,
            server_role=hop.server_role,
            network=hop.network,
            protocols=hop.protocols,
            pcap=hop.pcap,
            conversations=[ConversationReport.from_conversation(c) for c in hop.conversations],
            problems=list(hop.problems),
            comments=list(hop.comments),
            incomplete=hop.incomplete,
        )

    @property
    def name(self) -> str:
        """The hop's name, like sender-ua -> sender-mta ("?" for a host outside the lab)."""
        return f"{self.client_role or '?'} -> {self.server_role or '?'}"


class ProgramReport(Contract):
    """A program that replaced a role during the run, and how it ended (not graded)."""

    role: str
    command: str
    exit_status: int | None  # None: stopped at the step's timeout, or never started
    timed_out: bool
    duration_s: float
    output: str

    @classmethod
    def from_result(cls, role: str, command: str, result: ProgramResult) -> ProgramReport:
        """The report entry of a program run as its agent answered."""
        return cls(role=role, command=command, exit_status=result.exit_status,
                   timed_out=result.timed_out, duration_s=result.duration_s,
                   output=result.output)


class Report(Contract):
    """A graded scenario run: the score, each check's result, and the captured hops."""

    scenario: str
    backend: str
    score: float
    max_score: float
    passed: bool
    checks: list[CheckResult]
    hops: list[HopReport]
    programs: list[ProgramReport] = Field(default_factory=list)

    @classmethod
    def build(
        cls, scenario: str, backend: str, checks: Iterable[CheckResult], hops: Iterable[Hop],
        programs: Iterable[ProgramReport] = (),
    ) -> Report:
        """Total the checks' scores; `passed` means every check passed (and there was one)."""
        results = list(checks)
        return cls(
            scenario=scenario,
            backend=backend,
            score=sum(c.score for c in results),
            max_score=sum(c.max_score for c in results),
            passed=bool(results) and all(c.passed for c in results),
            checks=results,
            hops=[HopReport.from_hop(h) for h in hops],
            programs=list(programs),
        )

    def to_json(self, indent: int | None = 2) -> str:
        """The report as JSON text, exactly the contract's keys."""
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> Report:
        """Read a report written by to_json (pydantic ValidationError when it is not one)."""
        return cls.model_validate_json(text)

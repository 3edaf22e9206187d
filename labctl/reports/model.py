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
from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from labctl.analysis.results import Conversation, Hop


class _Contract(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CheckResult(_Contract):
    """The outcome of one check: points earned out of points possible, and why."""

    name: str
    passed: bool
    score: float
    max_score: float
    output: str


class ConversationReport(_Contract):
    """One TCP connection: endpoints as "ip:port", protocol, and its C:/S: transcript."""

    client: str
    server: str
    protocol: str
    transcript: list[str] = Field(default_factory=list)

    @classmethod
    def from_conversation(cls, conversation: Conversation) -> ConversationReport:
        """Summarize an analysed conversation."""
        return cls(
            client=str(conversation.client),
            server=str(conversation.server),
            protocol=conversation.protocol,
            transcript=list(conversation.transcript),
        )


class HopReport(_Contract):
    """All conversations between two roles (None: a host that is not a lab role)."""

    client_role: str | None
    server_role: str | None
    network: str
    protocols: list[str]
    pcap: str
    conversations: list[ConversationReport] = Field(default_factory=list)

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
        )

    @property
    def name(self) -> str:
        """The hop's name, like sender-ua -> sender-mta ("?" for a host outside the lab)."""
        return f"{self.client_role or '?'} -> {self.server_role or '?'}"


class Report(_Contract):
    """A graded scenario run: the score, each check's result, and the captured hops."""

    scenario: str
    backend: str
    score: float
    max_score: float
    passed: bool
    checks: list[CheckResult]
    hops: list[HopReport]

    @classmethod
    def build(
        cls, scenario: str, backend: str, checks: Iterable[CheckResult], hops: Iterable[Hop]
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
        )

    def to_json(self, indent: int | None = 2) -> str:
        """The report as JSON text, exactly the contract's keys."""
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> Report:
        """Read a report written by to_json (pydantic ValidationError when it is not one)."""
        return cls.model_validate_json(text)

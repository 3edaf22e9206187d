# Check types about TCP on a hop: how many connections carried the traffic (one for two
# messages is a persistent connection) and whether each shows the phases the lecture
# draws (three-way handshake, data transfer, FIN or RST close), from the TcpPhases the
# analyzer read off the packets.
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from labctl.analysis import Conversation
from labctl.analysis.results import CLOSE_FIN, CLOSE_HALF, CLOSE_OPEN, CLOSE_RST, TcpPhases
from labctl.scenarios.checks.base import CheckSpec, Evidence, Verdict, check_type, hop_verdict
from labctl.scenarios.checks.hops import WireProtocol, endpoints, upper_value
from labctl.scenarios.fields import canonical_hop

CloseKind = Literal["fin", "rst", "half-closed"]
# A half close counts by default: the capture may stop between the two FINs.
ANY_CLOSE: list[CloseKind] = ["fin", "rst", "half-closed"]


class _TcpCheck(CheckSpec):
    hop: str
    protocol: WireProtocol | None = None  # None: the connections of any protocol

    _hop = field_validator("hop")(canonical_hop)
    _protocol = field_validator("protocol", mode="before")(upper_value)

    def tcp(self, evidence: Evidence) -> list[Conversation]:
        """The hop's TCP connections: those of `protocol`, else all, empty ones too."""
        if self.protocol is None:
            found = evidence.connections(self.hop)
        else:
            found = evidence.speaking(self.hop, self.protocol)
        return [c for c in found if c.transport == "tcp"]

    def noun(self) -> str:
        return f"{self.protocol} connection" if self.protocol else "connection"


class TcpConnectionsCheck(_TcpCheck):
    """Exactly `count` TCP connections on the hop (those that carried `protocol` when
    given, else all, empty ones too): 1 for two messages is a persistent connection."""

    type: Literal["tcp_connections"]
    count: int = Field(ge=0)


@check_type(TcpConnectionsCheck)
def grade_tcp_connections(check: TcpConnectionsCheck, evidence: Evidence) -> Verdict:
    """The number of TCP connections on the hop is `count`."""
    found = check.tcp(evidence)
    expected = f"{check.count} {check.noun()}(s)"
    shown = f"{len(found)} {check.noun()}(s)"
    if found:
        shown += " from client port(s) " + ", ".join(str(c.client.port) for c in found[:5])
    return hop_verdict(len(found) == check.count, check.hop, expected, shown)


_CLOSE_WORDS = {CLOSE_FIN: "a FIN close", CLOSE_RST: "a RST", CLOSE_HALF: "a half close",
                CLOSE_OPEN: "no close (still open when the capture stopped)"}


def missing_phase(phases: TcpPhases, check: TcpPhasesCheck) -> str | None:
    """What the connection lacks of the phases the check asks for, or None."""
    if check.handshake and not phases.handshake_complete:
        absent = [name for name, at in (("SYN", phases.syn), ("SYN-ACK", phases.syn_ack),
                                        ("ACK", phases.ack)) if at is None]
        return f"a handshake without {', '.join(absent)}"
    if check.transfer and phases.first_data is None:
        return "no data transferred"
    if phases.close not in check.close:
        return _CLOSE_WORDS.get(phases.close, phases.close)
    return None


class TcpPhasesCheck(_TcpCheck):
    """Every TCP connection on the hop (of `protocol`) shows the three-way handshake
    (`handshake`), data transfer (`transfer`) and a close of a kind in `close` (fin, rst,
    half-closed; all three by default, where only "open", no FIN or RST at all, fails),
    and there is at least one. Fails naming the connection and the phase."""

    type: Literal["tcp_phases"]
    handshake: bool = True
    transfer: bool = True
    close: list[CloseKind] = Field(default_factory=lambda: ANY_CLOSE.copy(), min_length=1)


@check_type(TcpPhasesCheck)
def grade_tcp_phases(check: TcpPhasesCheck, evidence: Evidence) -> Verdict:
    """Each connection has the phases asked for."""
    wanted = [w for w, on in (("handshake", check.handshake), ("transfer", check.transfer))
              if on] + [f"a close ({', '.join(check.close)})"]
    expected = f"{', '.join(wanted)} on every {check.noun()}"
    found = check.tcp(evidence)
    if not found:
        return hop_verdict(False, check.hop, expected, f"no {check.noun()}")
    for conversation in found:
        problem = missing_phase(conversation.phases, check)
        if problem is not None:
            return hop_verdict(False, check.hop, expected,
                               f"{problem} on {endpoints(conversation)}")
    return hop_verdict(True, check.hop, "", f"{', '.join(wanted)} on all {len(found)} "
                       f"{check.noun()}(s)")

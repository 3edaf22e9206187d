# One-line summaries of a conversation's report parts (TCP phases, per-protocol facts,
# the hop's name), written once and used by every text view: the terminal table, the
# transcript view and the HTML page. The phases summary reads the analyzer's TcpPhases
# or the report's PhasesReport alike, so the table is written without building reports.
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from labctl.analysis.results import Conversation

if TYPE_CHECKING:
    from labctl.reports.conversation import ConversationReport


class PhasesFacts(Protocol):
    """What a phases summary reads (TcpPhases and PhasesReport both have it)."""

    @property
    def handshake_seconds(self) -> float | None: ...
    @property
    def seen_from_start(self) -> bool: ...
    @property
    def close(self) -> str: ...
    @property
    def closed_by(self) -> str | None: ...
    @property
    def duration_seconds(self) -> float | None: ...
    @property
    def gaps(self) -> Sequence[str]: ...
    @property
    def partial(self) -> bool: ...


def hop_name(conversation: Conversation) -> str:
    """"client role -> server role", each side by its address when it has no role."""
    client = conversation.client_role or conversation.client.ip
    server = conversation.server_role or conversation.server.ip
    return f"{client} -> {server}"


def milliseconds(seconds: float) -> str:
    """0.00042 -> "0.42 ms"; 1.5 -> "1500 ms"."""
    value = seconds * 1000
    return f"{value:.3g} ms" if value < 100 else f"{value:.0f} ms"


def phases_summary(phases: PhasesFacts | None, transport: str) -> str:
    """TCP phases in a few words: "handshake 0.4 ms, closed by FIN from client, 12 ms"."""
    if phases is None:
        return "TCP phases not analysed" if transport == "tcp" else transport.upper()
    parts = []
    if phases.handshake_seconds is not None:
        parts.append(f"handshake {milliseconds(phases.handshake_seconds)}")
    elif not phases.seen_from_start:
        parts.append("no handshake seen")
    if phases.close == "open":
        parts.append("still open at the end of the capture")
    else:
        kind = {"fin": "FIN", "rst": "RST", "half-closed": "FIN (one side)"}.get(
            phases.close, phases.close)
        parts.append(f"closed by {kind}" + (f" from {phases.closed_by}" if phases.closed_by
                                             else ""))
    if phases.duration_seconds is not None:
        parts.append(milliseconds(phases.duration_seconds))
    if phases.gaps:
        parts.append(f"{len(phases.gaps)} gap(s)")
    if phases.partial:
        parts.append("partial")
    return ", ".join(parts)


def fact_lines(conversation: ConversationReport) -> list[str]:
    """The grader's facts of one conversation, one line each."""
    lines: list[str] = []
    for smtp in conversation.smtp_transactions:
        verdict = "accepted" if smtp.accepted else "not accepted"
        lines.append(
            f"SMTP transaction: from <{smtp.mail_from}> to "
            f"{', '.join(f'<{r}>' for r in smtp.rcpt_to) or 'nobody'}"
            + (f" (refused {', '.join(smtp.rcpt_refused)})" if smtp.rcpt_refused else "")
            + f", {smtp.size} bytes, Message-ID {smtp.message_id or '-'}, "
            f"Subject {smtp.subject if smtp.subject is not None else '-'}, "
            f"body sha256 {smtp.body_sha256[:16] or '-'}, {verdict} ({smtp.reply or 'no reply'})")
    for pop3 in conversation.pop3_actions:
        lines.append(f"POP3 {pop3.verb} {pop3.argument}".rstrip()
                     + (" ok" if pop3.ok else " refused"))
    if conversation.pop3_actions or conversation.protocol == "POP3":
        reached = "reached" if conversation.pop3_reached_update else "did not reach"
        lines.append(f"POP3 session {reached} the UPDATE state")
    for imap in conversation.imap_actions:
        lines.append(f"IMAP {imap.command} {imap.arguments}".rstrip()
                     + f" -> {imap.result or 'no result'}")
    for http in conversation.http_exchanges:
        status = http.status if http.status is not None else "no response"
        lines.append(f"HTTP {http.method} {http.target} -> {status} "
                     f"({http.request_body_size} bytes up, {http.response_body_size} down)")
    for dns in conversation.dns_queries:
        answers = "; ".join(dns.answers) or "no answer records"
        lines.append(f"DNS {dns.qtype} {dns.name} -> {dns.rcode or 'no answer'}: {answers}")
    for sent in conversation.pipelined_commands:
        why = ("PIPELINING offered" if sent.allowed
               else "PIPELINING offered, but that reply had to be awaited"
               if sent.pipelining_offered else "PIPELINING not offered")
        lines.append(f"pipelined: {sent.command} sent before the reply to {sent.after} ({why})")
    if conversation.tls:
        lines.append("the stream turned to TLS (the rest is encrypted)")
    return lines

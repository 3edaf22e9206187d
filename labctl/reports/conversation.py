# One conversation of the JSON report: endpoints, protocol, transcript, and what #7 adds
# to the contract: the transport, the TCP phases, the problems and, per protocol, the
# facts a grader needs, all read from the conversation's Dialog (labctl.analysis.dialog).
#
# Every key added here has a default, so a report written before these keys existed
# still parses (see the header of model.py: keys are added, never renamed or removed).
# A conversation the analyzer has no dialog for yet has empty fact lists.
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from labctl.analysis.dialog import Dialog
from labctl.analysis.results import CLOSE_OPEN, Conversation, TcpPhases
from labctl.reports.summary import hop_name


class Contract(BaseModel):
    """A part of the report: unknown keys ignored on read, frozen once built."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class PhasesReport(Contract):
    """A TCP connection's phases as the lecture draws them (times are capture seconds)."""

    syn: float | None = None
    syn_ack: float | None = None
    ack: float | None = None
    handshake_seconds: float | None = None  # SYN to the ACK completing the handshake
    first_data: float | None = None
    last_data: float | None = None
    close: str = CLOSE_OPEN  # fin | half-closed | rst | open
    closed_by: str | None = None  # client | server (the first FIN, or the RST)
    close_time: float | None = None
    duration_seconds: float | None = None  # first packet seen to the close (or last data)
    seen_from_start: bool = False
    partial: bool = True  # seen only in part: no SYN, not closed, or with gaps
    gaps: list[str] = Field(default_factory=list)

    @classmethod
    def from_phases(cls, phases: TcpPhases) -> PhasesReport:
        """Summarize the analyzer's TcpPhases."""
        return cls(
            syn=phases.syn, syn_ack=phases.syn_ack, ack=phases.ack,
            handshake_seconds=phases.handshake_seconds,
            first_data=phases.first_data, last_data=phases.last_data,
            close=phases.close, closed_by=phases.closed_by, close_time=phases.close_time,
            duration_seconds=phases.duration_seconds,
            seen_from_start=phases.seen_from_start, partial=phases.partial,
            gaps=list(phases.gaps),
        )


class SmtpTransactionReport(Contract):
    """One MAIL FROM ... end of data: envelope, message identity and the verdict."""

    mail_from: str
    rcpt_to: list[str] = Field(default_factory=list)
    rcpt_refused: list[str] = Field(default_factory=list)
    size: int = 0
    message_id: str | None = None
    subject: str | None = None
    body_sha256: str = ""
    accepted: bool = False
    reply: str = ""


class Pop3ActionReport(Contract):
    verb: str
    argument: str = ""
    ok: bool = False


class ImapActionReport(Contract):
    command: str
    arguments: str = ""
    result: str = ""


class HttpExchangeReport(Contract):
    method: str
    target: str
    status: int | None = None
    request_body_size: int = 0
    response_body_size: int = 0


class DnsQueryReport(Contract):
    name: str
    qtype: str
    rcode: str | None = None
    answers: list[str] = Field(default_factory=list)
    additional: list[str] = Field(default_factory=list)  # "NAME TYPE DATA" each


class PipelinedCommandReport(Contract):
    """A command sent before the reply to the previous one (SMTP, POP3)."""

    command: str
    after: str  # what the awaited reply answers ("MAIL FROM", "the server's greeting")
    pipelining_offered: bool = False  # the server offered PIPELINING (EHLO, CAPA)
    allowed: bool = False  # offered, and the previous command's reply need not be awaited
    time: float = 0.0


class ConversationReport(Contract):
    """One connection: endpoints as "ip:port", protocol, its C:/S: transcript and facts."""

    client: str
    server: str
    protocol: str
    transcript: list[str] = Field(default_factory=list)
    hop: str = ""  # "sender-ua -> sender-mta", or by address when no role is known
    transport: str = "tcp"  # tcp | udp
    start: float = 0.0
    end: float = 0.0
    phases: PhasesReport | None = None  # TCP only; None also while the phases are unknown
    tls: bool = False  # the stream turned to TLS (STARTTLS, STLS or implicit)
    problems: list[str] = Field(default_factory=list)
    smtp_transactions: list[SmtpTransactionReport] = Field(default_factory=list)
    pop3_actions: list[Pop3ActionReport] = Field(default_factory=list)
    pop3_reached_update: bool = False
    imap_actions: list[ImapActionReport] = Field(default_factory=list)
    http_exchanges: list[HttpExchangeReport] = Field(default_factory=list)
    dns_queries: list[DnsQueryReport] = Field(default_factory=list)
    pipelined_commands: list[PipelinedCommandReport] = Field(default_factory=list)

    @classmethod
    def from_conversation(cls, conversation: Conversation) -> ConversationReport:
        """Summarize an analysed conversation (its dialog's facts when it has one)."""
        dialog = conversation.dialog or Dialog(conversation.protocol)
        phases = conversation.tcp_phases()
        problems = list(conversation.problems)
        problems += [p for p in dialog.problems if p not in problems]
        return cls(
            client=str(conversation.client),
            server=str(conversation.server),
            protocol=conversation.protocol,
            transcript=list(conversation.transcript),
            hop=hop_name(conversation),
            transport=conversation.transport,
            start=conversation.start,
            end=conversation.end,
            phases=None if phases is None else PhasesReport.from_phases(phases),
            tls=dialog.tls_from is not None,
            problems=problems,
            smtp_transactions=[SmtpTransactionReport(
                mail_from=t.mail_from, rcpt_to=list(t.rcpt_to),
                rcpt_refused=list(t.rcpt_refused), size=t.size, message_id=t.message_id,
                subject=t.subject, body_sha256=t.body_sha256, accepted=t.accepted,
                reply=t.reply) for t in dialog.smtp],
            pop3_actions=[Pop3ActionReport(verb=a.verb, argument=a.argument, ok=a.ok)
                          for a in dialog.pop3],
            pop3_reached_update=dialog.pop3_reached_update,
            imap_actions=[ImapActionReport(command=a.command, arguments=a.arguments,
                                           result=a.result) for a in dialog.imap],
            http_exchanges=[HttpExchangeReport(
                method=h.method, target=h.target, status=h.status,
                request_body_size=h.request_body_size,
                response_body_size=h.response_body_size) for h in dialog.http],
            dns_queries=[DnsQueryReport(name=q.name, qtype=q.qtype, rcode=q.rcode,
                                        answers=list(q.answers), additional=list(q.additional))
                         for q in dialog.dns],
            pipelined_commands=[PipelinedCommandReport(
                command=p.command, after=p.after, pipelining_offered=p.pipelining_offered,
                allowed=p.allowed, time=p.timestamp) for p in dialog.pipelined],
        )


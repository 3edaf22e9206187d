# An in-memory lab for the runner's tests (a test double of LabActions; the runner and
# the checks are real): sending records the SMTP conversations of both hops and delivers
# at once (or leaves the message queued), fetching records the POP3 or IMAP download,
# and the mailboxes and the queue are what those actions left. Each mail server keeps
# the lab options a setup gave it (those of a server in `options_refused` cannot change).
from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from labctl.agent_contract import FetchRequest, SendVia, SmtpExchange, SmtpSessionResult
from labctl.analysis.results import Conversation, Hop
from labctl.model import LAB
from labctl.model.mail_queue import QueueEntry
from labctl.model.options import LabOptionChanges, LabOptions
from labctl.program_contract import ProgramRequest, ProgramResult
from labctl.scenarios import SentMessage
from labctl.scenarios.actions import StoredMessage
from tests.scenarios.scenario_builders import conversation, fetch_transcript, hop, stuffed_lines


class MemoryLab:
    """A lab in memory: sending delivers at once and records the transcripts of each hop."""

    def __init__(
        self, *, deliver: bool = True, quit_after_data: bool = True, submit_protocol: str = "SMTP"
    ) -> None:
        self.deliver = deliver
        self.stored_body_change = b""  # the receiving server corrupts this body text
        self.seen: set[bytes] = set()  # messages downloaded and kept (flagged Seen)
        self.quit_after_data = quit_after_data
        self.submit_protocol = submit_protocol
        self.mailboxes: dict[str, list[bytes]] = {}
        self.queued: list[QueueEntry] = []  # what sender-mta could not deliver
        self.conversations: list[Conversation] = []
        self.calls: list[tuple[object, ...]] = []
        self.down: set[str] = set()  # mail servers taken down
        self.flush_delivers = True  # a flush relays the queue when the receiver is up
        self.deliveries = 1  # copies a relay leaves in the mailbox (2: a duplicate)
        self.relay_lines: dict[str, list[str]] = {}  # by Message-ID: its SMTP transaction
        self.raw: dict[str, bytes] = {}  # by Message-ID: the message as composed
        self.open_relay = False  # receiver-mta accepts mail for any domain
        self.spf_reject = False  # receiver-mta refuses typed mail (a forged sender) at "."
        # what a program replacing a role does: types these lines to that server
        self.program_sessions: dict[str, tuple[str, list[str]]] = {}
        self.program_requests: list[tuple[str, ProgramRequest]] = []
        self.lab_options = {server.name: LabOptions() for server in LAB.mail_servers()}
        self.options_refused: set[str] = set()  # mail servers whose agent refuses a change

    async def start_capture(self) -> None:
        self.calls.append(("start_capture",))
        self.conversations = []

    async def stop_capture(self) -> list[Hop]:
        self.calls.append(("stop_capture",))
        hops: dict[str, Hop] = {}
        for c in self.conversations:
            name = f"{c.client_role} -> {c.server_role}"
            hops.setdefault(name, hop(name)).conversations.append(c)
        return list(hops.values())

    async def send(
        self, role: str, to: str, subject: str, body: str, headers: dict[str, str],
        via: SendVia = "smtp",
    ) -> SentMessage:
        self.calls.append(("send", role, to))
        sender = LAB.role(role).user or ""
        message = EmailMessage()
        for name, value in [
            ("From", sender),
            ("To", to),
            ("Subject", subject),
            ("Date", formatdate()),
            ("Message-ID", make_msgid(domain="lab")),
            *headers.items(),
        ]:
            message[name] = value
        message.set_content(body)
        raw = bytes(message)
        envelope = [
            f"C: MAIL FROM:<{sender}>",
            "S: 250 ok",
            f"C: RCPT TO:<{to}>",
            "S: 250 ok",
            "C: DATA",
            "S: 354 go",
            *(f"C: {line}" for line in self.data_lines(raw)),
            "C: .",
            "S: 250 queued",
        ]
        self.conversations.append(
            conversation(
                role,
                "sender-mta",
                self.submit_protocol,
                [
                    "S: 220 mail.crepes.fr",
                    "C: EHLO pc",
                    "S: 250 hi",
                    *envelope,
                    "C: QUIT",
                    "S: 221 bye",
                ],
            )
        )
        message_id = str(message["Message-ID"])
        self.relay_lines[message_id], self.raw[message_id] = envelope, raw
        if self.deliver and "receiver-mta" not in self.down:
            self.relay([message_id])
        else:
            self.queued.append(QueueEntry(
                id=f"q{len(self.queued)}", mail_from=sender, rcpt_tos=[to], attempts=1,
                last_error="421 receiver-mta unreachable", next_attempt=0.0,
                message_id=message_id, created=0.0))
        return SentMessage(str(message["Message-ID"]), raw, sender, to)

    def data_lines(self, raw: bytes) -> list[str]:
        """The message's lines as the SMTP clients send them after DATA (dot-stuffed)."""
        return stuffed_lines(raw)

    def relay(self, message_ids: list[str], connections: int = 1) -> None:
        """sender-mta relays the messages over `connections` connections and delivers."""
        share = -(-len(message_ids) // connections)  # messages per connection, rounded up
        ending = ["C: QUIT", "S: 221 bye"] if self.quit_after_data else []
        for start in range(0, len(message_ids), share):
            lines = [line for m in message_ids[start:start + share] for line in self.relay_lines[m]]
            self.conversations.append(conversation(
                "sender-mta", "receiver-mta", "SMTP",
                ["S: 220 mail.hamburger.edu", "C: EHLO mail.crepes.fr", "S: 250-hi",
                 "S: 250 SIZE", *lines, *ending]))
        for message_id in message_ids:
            raw = self.raw[message_id]
            stored = raw.replace(self.stored_body_change, b"changed") if \
                self.stored_body_change else raw
            to = str(parse_to(raw))
            for _ in range(self.deliveries):
                self.mailboxes.setdefault(to, []).append(b"Return-Path: <x>\r\n" + stored)

    async def set_server(self, role: str, up: bool) -> None:
        self.calls.append(("set_server", role, up))
        (self.down.discard if up else self.down.add)(role)

    async def options(self, role: str) -> LabOptions:
        self.calls.append(("options", role))
        return self.lab_options[role]

    async def set_options(self, role: str, changes: LabOptionChanges) -> LabOptions:
        self.calls.append(("set_options", role, changes.option_values()))
        if role in self.options_refused:
            raise ConnectionRefusedError(f"{role} control agent refused")
        self.lab_options[role] = self.lab_options[role].changed_by(changes)
        return self.lab_options[role]

    async def wait_queued(self, role: str, messages: int, attempts: int,
                          timeout_s: float) -> bool:
        self.calls.append(("wait_queued", role, messages, attempts))
        tried = [e for e in self.queued if e.attempts >= attempts]
        return role == "sender-mta" and len(tried) >= messages

    async def flush(self, role: str) -> int:
        self.calls.append(("flush", role))
        flushed = len(self.queued) if role == "sender-mta" else 0
        if flushed and self.flush_delivers and "receiver-mta" not in self.down:
            self.relay([str(e.message_id) for e in self.queued])
            self.queued = []
        return flushed

    async def send_raw(self, role: str, server: str, lines: list[str]) -> SmtpSessionResult:
        self.calls.append(("send_raw", role, server))
        return await send_raw(self, role, server, lines)

    async def run_program(self, role: str, request: ProgramRequest) -> ProgramResult:
        """The program types its session (program_sessions), then says it succeeded."""
        self.program_requests.append((role, request))
        if role in self.program_sessions:
            await send_raw(self, role, *self.program_sessions[role])
        return ProgramResult(exit_status=0, timed_out=False, duration_s=0.1,
                             output="all good", environment={})

    async def wait_delivered(self, address: str, message_id: str, timeout_s: float) -> bool:
        self.calls.append(("wait_delivered", address, timeout_s))
        return any(message_id.encode() in m for m in self.mailboxes.get(address, []))

    async def fetch(self, role: str, request: FetchRequest) -> list[bytes]:
        protocol = request.protocol
        self.calls.append(("fetch", role, protocol, request.delete))
        address = LAB.role(role).user or ""
        messages = list(self.mailboxes.get(address, []))
        if request.delete:
            self.mailboxes[address] = []
        self.seen.update(messages)
        wire = protocol.upper()
        self.conversations.append(
            conversation(role, "receiver-mta", wire,
                         fetch_transcript(wire, messages, request.delete))
        )
        return messages

    async def mailbox(self, address: str, folder: str) -> list[StoredMessage]:
        self.calls.append(("mailbox", address, folder))
        stored = self.mailboxes.get(address, []) if folder == "INBOX" else []
        return [StoredMessage(uid, ("Seen",) if raw in self.seen else (), raw)
                for uid, raw in enumerate(stored, 1)]

    async def queue(self, role: str) -> list[QueueEntry]:
        self.calls.append(("queue", role))
        return list(self.queued) if role == "sender-mta" else []


def parse_to(raw: bytes) -> str:
    """The To address of a composed message."""
    return str(message_from_bytes(raw)["To"])


def typed_reply(lab: MemoryLab, command: str) -> str:
    """receiver-mta's reply to one typed command (the message's "." included)."""
    verb = command.split(":")[0].split(" ")[0].upper()
    if verb == "RCPT":
        local = command.rpartition("@")[2].rstrip(">").lower()
        return "250 ok" if lab.open_relay or local == "hamburger.edu" else \
            "554 5.7.1 relay access denied"
    if verb == "." and lab.spf_reject:  # as the lab's servers do: at the end of data
        return "550 5.7.23 SPF check failed"
    return {"DATA": "354 go", "QUIT": "221 bye", ".": "250 queued"}.get(verb, "250 ok")


async def send_raw(lab: MemoryLab, role: str, server: str, lines: list[str]) -> SmtpSessionResult:
    """A session typed by `role`, recorded as the capture would show it; a message
    answered 250 is stored for its accepted recipients."""
    transcript, exchanges, pending = ["S: 220 mail.hamburger.edu"], [], []
    in_message, recipients = False, []
    for line in lines:
        transcript.append(f"C: {line}")
        pending.append(line)
        if in_message and line != ".":
            continue
        reply = typed_reply(lab, line)
        transcript.append(f"S: {reply}")
        exchanges.append(SmtpExchange(sent=pending, reply=reply))
        if line.upper().startswith("RCPT") and reply.startswith("250"):
            recipients.append(line.partition(":")[2].strip().strip("<>").lower())
        if in_message and reply.startswith("250"):
            for address in recipients:
                stored = "\r\n".join(["Return-Path: <x>", *pending[:-1], ""]).encode()
                lab.mailboxes.setdefault(address, []).append(stored)
        pending, in_message = [], reply.startswith("354")
    lab.conversations.append(conversation(role, server, "SMTP", transcript))
    return SmtpSessionResult(greeting="220 mail.hamburger.edu", exchanges=exchanges)

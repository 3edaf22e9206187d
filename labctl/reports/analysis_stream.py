# Offline analysis written as it comes: each conversation is written the moment the
# analyzer yields it and then forgotten, so memory does not grow with the capture.
#
# Formats: "table" (one line per conversation), "transcript" (the S:/C: lines and the
# grader's facts of each conversation) and "json": a list of hops with the report
# contract's keys (HopReport, ConversationReport), streamed: a hop entry is opened at
# its first conversation and closed when a conversation of another hop (or the end of
# the capture) comes, so a hop whose conversations interleave with another's appears
# more than once, in capture order. A capture's problems and comments are on its last
# hop entry (an entry with no conversations when it had none), with `incomplete` true
# when part of the file could not be read.
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Protocol, TextIO

from labctl.analysis.results import Conversation
from labctl.reports.summary import fact_lines, hop_name, phases_summary

if TYPE_CHECKING:
    from labctl.reports.conversation import ConversationReport

FORMATS = ("table", "json", "transcript")


class AnalysisSink(Protocol):
    """Where an analysis goes, capture by capture and conversation by conversation."""

    def begin_capture(self, pcap: str, network: str) -> None: ...

    def conversation(self, conversation: Conversation) -> None: ...

    def end_capture(self, problems: list[str], comments: list[str],
                    incomplete: bool = False) -> bool: ...

    def finish(self) -> None: ...


class AnalysisStream:
    """Writes one or more captures' conversations to `out` in one of FORMATS."""

    def __init__(self, out: TextIO, format: str) -> None:
        if format not in FORMATS:
            raise ValueError(f"unknown format {format!r} (formats: {', '.join(FORMATS)})")
        self.out, self.format = out, format
        self.incomplete = False  # some capture could not be read in full
        self._pcap = self._network = ""
        self._hop: tuple[str | None, str | None] | None = None
        self._protocols: list[str] = []
        self._entries = 0
        self._conversations = 0
        if format == "json":
            out.write("[")

    def begin_capture(self, pcap: str, network: str) -> None:
        """Start writing the conversations of the capture file `pcap`."""
        self._pcap, self._network, self._hop, self._conversations = pcap, network, None, 0
        if self.format != "json":
            self.out.write(f"{pcap}  (network {network})\n")

    def conversation(self, conversation: Conversation) -> None:
        """Write one conversation (its hop named by roles, or by address without them)."""
        self._conversations += 1
        if self.format == "table":  # read from the conversation: no report to build
            self.out.write(f"  {hop_name(conversation):40} {conversation.client} -> "
                           f"{conversation.server}  {conversation.protocol}/"
                           f"{conversation.transport}  "
                           f"{phases_summary(conversation.tcp_phases(), conversation.transport)}"
                           f"{self._counts(conversation)}\n")
            self.out.flush()
            return
        from labctl.reports.conversation import ConversationReport  # pydantic: only here

        report = ConversationReport.from_conversation(conversation)
        if self.format == "json":
            self._json_conversation(report, (conversation.client_role, conversation.server_role))
        else:
            self.out.write(f"  {report.hop}  {report.client} -> {report.server}  "
                           f"{report.protocol}  "
                           f"({phases_summary(report.phases, report.transport)})\n")
            self.out.writelines(f"    {line}\n" for line in report.transcript)
            self.out.writelines(f"    = {line}\n" for line in fact_lines(report))
            self.out.writelines(f"    ! {line}\n" for line in report.problems)
            self.out.write("\n")
        self.out.flush()

    def end_capture(self, problems: list[str], comments: list[str],
                    incomplete: bool = False) -> bool:
        """Finish the capture with the notes about the file; whether it was incomplete."""
        self.incomplete |= incomplete
        if self.format == "json":
            if self._hop is None:
                self._open_hop((None, None))
            self._close_hop(problems, comments, incomplete)
        else:
            if not self._conversations:
                self.out.write("  (no conversations)\n")
            self.out.writelines(f"  # {comment}\n" for comment in comments)
            self.out.writelines(f"  ! {problem}\n" for problem in problems)
            if incomplete:
                self.out.write("  INCOMPLETE: part of the file could not be read\n")
            self.out.write("\n")
        self.out.flush()
        return incomplete

    def finish(self) -> None:
        """End the output (closes the JSON list)."""
        if self.format == "json":
            self.out.write("\n]\n" if self._entries else "]\n")
        self.out.flush()

    @staticmethod
    def _counts(conversation: Conversation) -> str:
        dialog = conversation.dialog
        if dialog is None:
            return ""
        facts = [(len(dialog.smtp), "transaction"), (len(dialog.pop3), "POP3 action"),
                 (len(dialog.imap), "IMAP action"), (len(dialog.http), "request"),
                 (len(dialog.dns), "query")]
        words = [f"{count} {name}(s)" for count, name in facts if count]
        return ("  " + ", ".join(words)) if words else ""

    def _json_conversation(self, report: ConversationReport,
                           hop: tuple[str | None, str | None]) -> None:
        if hop != self._hop:
            if self._hop is not None:
                self._close_hop([], [], False)
            self._open_hop(hop)
        else:
            self.out.write(",")
        self.out.write("\n      " + report.model_dump_json())
        if report.protocol not in self._protocols:
            self._protocols.append(report.protocol)

    def _open_hop(self, hop: tuple[str | None, str | None]) -> None:
        self.out.write(",\n  {" if self._entries else "\n  {")
        head = {"client_role": hop[0], "server_role": hop[1], "network": self._network,
                "pcap": self._pcap}
        self.out.write(json.dumps(head)[1:-1] + ', "conversations": [')
        self._hop, self._protocols = hop, []
        self._entries += 1

    def _close_hop(self, problems: list[str], comments: list[str], incomplete: bool) -> None:
        tail = {"protocols": self._protocols, "problems": problems, "comments": comments,
                "incomplete": incomplete}
        self.out.write("],\n   " + json.dumps(tail)[1:] + "\n")
        self._hop = None

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
from typing import Protocol, TextIO

from labctl.reports.conversation import ConversationReport
from labctl.reports.summary import fact_lines, phases_summary

FORMATS = ("table", "json", "transcript")


class AnalysisSink(Protocol):
    """Where an analysis goes, capture by capture and conversation by conversation."""

    def begin_capture(self, pcap: str, network: str) -> None: ...

    def conversation(self, report: ConversationReport, client_role: str | None,
                     server_role: str | None) -> None: ...

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

    def conversation(self, report: ConversationReport, client_role: str | None,
                     server_role: str | None) -> None:
        """Write one conversation (its hop named by roles, or by address without them)."""
        self._conversations += 1
        if self.format == "json":
            self._json_conversation(report, (client_role, server_role))
        elif self.format == "table":
            self.out.write(f"  {report.hop:40} {report.client} -> {report.server}  "
                           f"{report.protocol}/{report.transport}  "
                           f"{phases_summary(report)}"
                           f"{self._counts(report)}\n")
        else:
            self.out.write(f"  {report.hop}  {report.client} -> {report.server}  "
                           f"{report.protocol}  ({phases_summary(report)})\n")
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
    def _counts(report: ConversationReport) -> str:
        facts = [(len(report.smtp_transactions), "transaction"), (len(report.pop3_actions),
                 "POP3 action"), (len(report.imap_actions), "IMAP action"),
                 (len(report.http_exchanges), "request"), (len(report.dns_queries), "query")]
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

# `labctl analyze FILE...`: offline analysis of any capture, the lab's or a student's.
#
# Hosts are named by a roles file (--roles), else by the lab's addressing plan when
# asked (--runtime), else by address: no lab is needed. Table, JSON and transcript are
# written as the conversations come (AnalysisStream); the HTML page needs them all.
# A file that cannot be read is one line on stderr; the others are still analysed;
# the exit status is 1 when any file was unreadable or incomplete.
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

from labctl.analysis import PcapError, analyze_pcap_file
from labctl.analysis.hops import group_into_hops
from labctl.analysis.results import Conversation
from labctl.model import LAB, Addressing, Runtime, addressing, current_instance
from labctl.reports import (
    AnalysisStream,
    ConversationReport,
    HopReport,
    RolesFile,
    load_roles,
    render_page,
)
from labctl.reports.summary import is_damage

Namer = Callable[[str], str | None]  # address -> role name (None: no role)


def add_analyze_arguments(analyze: argparse.ArgumentParser) -> None:
    """The options of `labctl analyze`."""
    analyze.add_argument("pcaps", nargs="+", metavar="FILE",
                         help="pcap or pcapng files (network name = file name)")
    naming = analyze.add_mutually_exclusive_group()
    naming.add_argument("--roles", metavar="ROLES.yaml",
                        help="name hosts by this roles file (role name -> addresses)")
    naming.add_argument("--runtime", choices=[r.value for r in Runtime], default=None,
                        help="name hosts by the lab's addressing plan of this runtime")
    analyze.add_argument("--format", choices=["table", "json", "transcript", "html"],
                         default="table")
    analyze.add_argument("--output", metavar="PATH", help="write there instead of stdout")


def _namer(args: argparse.Namespace) -> tuple[Namer, RolesFile | None, Addressing | None]:
    """How hosts are named: (address -> role, the roles file, the lab plan)."""
    if args.roles:
        roles = load_roles(args.roles)
        return roles.role_at, roles, None
    if args.runtime:
        plan = addressing(args.runtime, instance=current_instance())

        def lab_role(ip: str) -> str | None:
            owner = plan.role_at(ip)
            return owner[0] if owner else None
        return lab_role, None, plan
    return lambda ip: None, None, None


def _named(conversation: Conversation, namer: Namer) -> Conversation:
    conversation.client_role = namer(conversation.client.ip)
    conversation.server_role = namer(conversation.server.ip)
    return conversation


def _analyse(path: Path, plan: Addressing | None) -> tuple[list[Conversation], list[str],
                                                            list[str]]:
    """(conversations, problems, comments) of one file; PcapError when unreadable."""
    # Switch point: when labctl.analysis offers iter_conversations(path, network,
    # addressing), yield from it here so conversations are written one at a time.
    analysis = analyze_pcap_file(path, path.stem, plan or addressing(Runtime.COMPOSE.value))
    return analysis.conversations, analysis.problems, analysis.comments


def cmd_analyze(args: argparse.Namespace) -> int:
    """Analyse each file, write the chosen format; 1 when a file was unreadable/incomplete."""
    namer, roles, plan = _namer(args)
    failed = False
    with ExitStack() as stack:
        out: TextIO = sys.stdout
        if args.output:
            out = stack.enter_context(open(args.output, "w", encoding="utf-8"))
        stream = AnalysisStream(out, args.format) if args.format != "html" else None
        hops: list[HopReport] = []
        for path in map(Path, args.pcaps):
            try:
                conversations, problems, comments = _analyse(path, plan)
            except PcapError as error:
                print(f"labctl: {error}", file=sys.stderr)
                failed = True
                continue
            for note in comments + problems:
                print(f"labctl: {path}: {note}", file=sys.stderr)
            if stream is None:
                found = group_into_hops([_named(c, namer) for c in conversations],
                                        path.stem, str(path))
                for hop in found:
                    hop.problems, hop.comments = list(problems), list(comments)
                reports = [HopReport.from_hop(hop) for hop in found] or [HopReport(
                    client_role=None, server_role=None, network=path.stem, protocols=[],
                    pcap=str(path), problems=problems, comments=comments,
                    incomplete=any(is_damage(p) for p in problems))]
                failed |= any(h.incomplete for h in reports)
                hops += reports
                continue
            stream.begin_capture(str(path), path.stem)
            for conversation in conversations:
                _named(conversation, namer)
                stream.conversation(ConversationReport.from_conversation(conversation),
                                    conversation.client_role, conversation.server_role)
            failed |= stream.end_capture(problems, comments)
        if stream is not None:
            stream.finish()
        else:
            title = "Analysis of " + ", ".join(Path(p).name for p in args.pcaps)
            out.write(render_page(hops, title, lab=LAB if plan else None, roles=roles))
    return 1 if failed else 0

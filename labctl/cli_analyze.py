# `labctl analyze FILE...`: offline analysis of any capture, the lab's or a student's.
#
# Hosts are named by a roles file (--roles), else by the lab's addressing plan when
# asked (--runtime), else by address: no lab is needed. Each file's conversations go
# one at a time into a sink: table, JSON and transcript are written as they come
# (AnalysisStream); the HTML page (PageCollector) is written at the end.
# A file that cannot be read is one line on stderr; the others are still analysed;
# the exit status is 1 when any file was unreadable or incomplete. The roles file's
# loader and the HTML page's renderer are imported only when asked for.
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from labctl.analysis import PcapError, iter_conversations
from labctl.analysis.hops import role_of
from labctl.analysis.results import Conversation
from labctl.model import LAB, Addressing, Runtime, addressing, current_instance
from labctl.reports.analysis_stream import AnalysisSink, AnalysisStream

if TYPE_CHECKING:
    from labctl.reports.roles_file import RolesFile

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
        from labctl.reports.roles_file import load_roles  # YAML and its schema: only here

        roles = load_roles(args.roles)
        return roles.role_at, roles, None
    if args.runtime:
        plan = addressing(args.runtime, instance=current_instance())
        return partial(role_of, addressing=plan), None, plan
    return lambda ip: None, None, None


def _named(conversation: Conversation, namer: Namer) -> Conversation:
    conversation.client_role = namer(conversation.client.ip)
    conversation.server_role = namer(conversation.server.ip)
    return conversation


@dataclass
class FileNotes:
    """What the analyzer says about a capture file itself (known once it is read)."""

    problems: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    incomplete: bool = False  # the analyzer says only part of the file was read


def _conversations(path: Path, plan: Addressing | None, notes: FileNotes,
                   transcripts: bool) -> Iterator[Conversation]:
    """The conversations of one file, one at a time; PcapError when it cannot be read."""
    analysis = iter_conversations(path, path.stem, plan or addressing(Runtime.COMPOSE.value),
                                  transcripts)
    yield from analysis  # written out one at a time: the file is never held whole
    notes.problems, notes.comments = analysis.problems, analysis.comments
    notes.incomplete = analysis.incomplete


def analyse_file(path: Path, plan: Addressing | None, namer: Namer, sink: AnalysisSink,
                 transcripts: bool = True) -> bool:
    """Analyse one file into `sink` (without transcript lines unless `transcripts`);
    whether it was unreadable or incomplete."""
    notes = FileNotes()
    conversations = _conversations(path, plan, notes, transcripts)
    try:
        first = next(conversations, None)
    except PcapError as error:
        print(f"labctl: {error}", file=sys.stderr)
        return True
    sink.begin_capture(str(path), path.stem)
    broken: list[str] = []
    try:
        for conversation in chain([first] if first is not None else [], conversations):
            _named(conversation, namer)
            sink.conversation(conversation)
    except PcapError as error:  # a reader that streams can fail part way
        broken.append(str(error))
    for note in notes.comments + notes.problems + broken:
        print(f"labctl: {path}: {note}", file=sys.stderr)
    return sink.end_capture(notes.problems + broken, notes.comments,
                            incomplete=notes.incomplete or bool(broken))


def cmd_analyze(args: argparse.Namespace) -> int:
    """Analyse each file, write the chosen format; 1 when a file was unreadable/incomplete."""
    namer, roles, plan = _namer(args)
    failed = False
    with ExitStack() as stack:
        out: TextIO = sys.stdout
        if args.output:
            out = stack.enter_context(open(args.output, "w", encoding="utf-8"))
        sink: AnalysisSink
        if args.format == "html":  # the page's renderer is loaded only for it
            from labctl.reports.html_page import PageCollector

            title = "Analysis of " + ", ".join(Path(p).name for p in args.pcaps)
            sink = PageCollector(out, title, LAB if plan else None, roles)
        else:
            sink = AnalysisStream(out, args.format)
        for path in map(Path, args.pcaps):
            failed |= analyse_file(path, plan, namer, sink, transcripts=args.format != "table")
        sink.finish()
    return 1 if failed else 0

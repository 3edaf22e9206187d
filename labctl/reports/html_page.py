# The HTML view of a run or of an offline analysis: one self-contained page (inline
# CSS and SVG, no script, no font or file from anywhere) with the topology coloured by
# protocol, the sequence diagram of the message's journey, the checks of a graded run,
# and each conversation's transcript and facts. It links each network's pcap by a
# relative link (the pcap's file name), so the page works next to its pcaps, in the
# controller (GET /runs/{id}/report.html beside /runs/{id}/pcaps/...) or from disk.
# Everything that comes from a capture or a report is escaped.
from __future__ import annotations

from html import escape
from pathlib import PurePath
from typing import TextIO

from labctl.analysis.results import Conversation
from labctl.model.topology import Lab
from labctl.reports.conversation import ConversationReport
from labctl.reports.html_svg import (
    NO_TRAFFIC_COLOUR,
    PROTOCOL_COLOURS,
    colour_of,
    sequence_svg,
    topology_svg,
)
from labctl.reports.model import HopReport, Report
from labctl.reports.render import points
from labctl.reports.roles_file import RolesFile
from labctl.reports.summary import fact_lines, phases_summary
from labctl.reports.topology_view import build_topology, conversation_ends

# Past this many conversations the diagram and the transcripts stop (the page says so).
MAX_DRAWN = 300

STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; font-size: .85em; }
table { border-collapse: collapse; } td, th { padding: .2em .6em; text-align: left; }
.pass { color: #1a7f37; } .fail { color: #cf222e; } .problem { color: #cf222e; }
.comment { color: #666; font-style: italic; }
.legend span { display: inline-block; margin-right: 1em; }
.swatch { display: inline-block; width: 1.2em; height: .6em; margin-right: .3em; }
svg text { font-size: 12px; font-family: sans-serif; }
.link-network { fill: #666; font-style: italic; }
.host-label, .lane-label { font-weight: bold; }
"""


def _pcap_href(pcap: str) -> str:
    """The relative link to a pcap: its file name, next to the page."""
    return escape(PurePath(pcap).name or pcap)


def _header(title: str, report: Report | None) -> list[str]:
    parts = [f"<h1>{escape(title)}</h1>"]
    if report is not None:
        verdict = "PASSED" if report.passed else "FAILED"
        parts.append(f'<p class="score {"pass" if report.passed else "fail"}">Score '
                     f"{points(report.score)}/{points(report.max_score)} {verdict} "
                     f"(backend {escape(report.backend)})</p>")
    return parts


def _checks(report: Report | None) -> list[str]:
    if report is None or not report.checks:
        return []
    rows = [f'<tr class="{"pass" if c.passed else "fail"}"><td>'
            f'{"PASS" if c.passed else "FAIL"}</td><td>{points(c.score)}/{points(c.max_score)}'
            f"</td><td>{escape(c.name)}</td><td><pre>{escape(c.output)}</pre></td></tr>"
            for c in report.checks]
    return ["<h2>Checks</h2>", '<table class="checks">', *rows, "</table>"]


def _captures(hops: list[HopReport]) -> list[str]:
    seen: dict[str, HopReport] = {}
    for hop in hops:
        seen.setdefault(hop.pcap, hop)
    items = []
    for pcap, hop in seen.items():
        same = [h for h in hops if h.pcap == pcap]
        problems = dict.fromkeys(p for h in same for p in h.problems)
        comments = dict.fromkeys(c for h in same for c in h.comments)
        marker = " (incomplete)" if any(h.incomplete for h in same) else ""
        items.append(f'<li><a class="pcap" href="{_pcap_href(pcap)}">{escape(hop.network)}'
                     f"</a> {escape(pcap)}{marker}"
                     + "".join(f'<br><span class="comment">{escape(c)}</span>' for c in comments)
                     + "".join(f'<br><span class="problem">{escape(p)}</span>' for p in problems)
                     + "</li>")
    return ["<h2>Captures</h2>", '<ul class="captures">', *items, "</ul>"]


def _legend() -> str:
    spans = [f'<span><i class="swatch" style="background:{colour}"></i>{escape(name)}</span>'
             for name, colour in PROTOCOL_COLOURS.items()]
    spans.append(f'<span><i class="swatch" style="background:{NO_TRAFFIC_COLOUR}"></i>'
                 "a link of the lab with no traffic</span><span>dashed: traffic on a path "
                 "that is no link of the lab</span>")
    return f'<p class="legend">{"".join(spans)}</p>'


def _transcript(number: int, hop: HopReport, conversation: ConversationReport) -> str:
    phases = conversation.phases
    facts = "".join(f"<li>{escape(line)}</li>" for line in fact_lines(conversation))
    problems = "".join(f'<li class="problem">{escape(p)}</li>' for p in conversation.problems)
    return (f'<section class="conversation" id="conversation-{number}">'
            f'<h3><span style="color:{colour_of(conversation.protocol)}">#{number} '
            f"{escape(conversation.protocol)}</span> {escape(conversation.hop or hop.name)}: "
            f"{escape(conversation.client)} &#8594; {escape(conversation.server)}</h3>"
            f'<p class="phases">{escape(phases_summary(phases, conversation.transport))}</p>'
            f'<pre class="transcript">{escape(chr(10).join(conversation.transcript))}</pre>'
            f"<ul>{facts}{problems}</ul></section>")


def render_page(hops: list[HopReport], title: str, report: Report | None = None,
                lab: Lab | None = None, roles: RolesFile | None = None) -> str:
    """The whole self-contained HTML page for these hops (and the run's report, if any)."""
    view = build_topology(hops, lab, roles)
    ordered = sorted(((c.start, i, hop, c) for i, (hop, c) in enumerate(
        (hop, c) for hop in hops for c in hop.conversations)), key=lambda item: item[:2])
    drawn = ordered[:MAX_DRAWN]
    journey = [(*conversation_ends(hop, c), c) for _, _, hop, c in drawn]
    lanes = [h for h in view.hosts if any(h in (a, b) for a, b, _ in journey)] or view.hosts
    body = _header(title, report) + _checks(report)  # a graded run: its checks on top
    networks = "".join(f"<li><b>{escape(name)}</b>: {escape(', '.join(hosts) or '-')}</li>"
                       for name, hosts in view.networks.items())
    body += ["<h2>Topology</h2>", topology_svg(view), _legend(),
             f'<ul class="networks">{networks}</ul>']
    body += ["<h2>The message's journey</h2>", sequence_svg(lanes, journey)]
    if len(ordered) > MAX_DRAWN:
        body.append(f"<p>The first {MAX_DRAWN} of {len(ordered)} conversations are shown.</p>")
    body += _captures(hops)
    body += ["<h2>Transcripts</h2>"] + [_transcript(n, hop, c)
                                        for n, (_, _, hop, c) in enumerate(drawn, 1)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def render_run_page(report: Report, lab: Lab | None = None) -> str:
    """The page of a graded scenario run."""
    return render_page(report.hops, f"Scenario {report.scenario}", report, lab)


class PageCollector:
    """An AnalysisSink that keeps each capture's hops and writes the page at the end."""

    def __init__(self, out: TextIO, title: str, lab: Lab | None = None,
                 roles: RolesFile | None = None) -> None:
        self.out, self.title, self.lab, self.roles = out, title, lab, roles
        self.hops: list[HopReport] = []
        self._pcap = self._network = ""
        self._capture: dict[tuple[str | None, str | None], list[ConversationReport]] = {}

    def begin_capture(self, pcap: str, network: str) -> None:
        """Start collecting the conversations of the capture file `pcap`."""
        self._pcap, self._network, self._capture = pcap, network, {}

    def conversation(self, conversation: Conversation) -> None:
        """Keep one conversation's report under its hop."""
        hop = (conversation.client_role, conversation.server_role)
        self._capture.setdefault(hop, []).append(ConversationReport.from_conversation(conversation))

    def end_capture(self, problems: list[str], comments: list[str],
                    incomplete: bool = False) -> bool:
        """Make the capture's hops; whether the capture was incomplete."""
        hops = self._capture or {(None, None): []}
        self.hops += [HopReport(
            client_role=client, server_role=server, network=self._network,
            protocols=list(dict.fromkeys(c.protocol for c in conversations)), pcap=self._pcap,
            conversations=conversations, problems=problems, comments=comments,
            incomplete=incomplete) for (client, server), conversations in hops.items()]
        return incomplete

    def finish(self) -> None:
        """Write the page."""
        self.out.write(render_page(self.hops, self.title, lab=self.lab, roles=self.roles))

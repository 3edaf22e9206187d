# The two drawings of the HTML page, as inline SVG text (no script, no external file):
# the topology (hosts on a circle, each link a line coloured by the protocol seen on
# it) and the sequence diagram of the message's journey (one lane per host, for each
# conversation in time order: the handshake, the data exchanged and the close by FIN
# or RST). Every name and label from a capture is escaped here.
from __future__ import annotations

import math
from html import escape

from labctl.reports.conversation import ConversationReport
from labctl.reports.topology_view import TopologyView

# One colour per protocol; a protocol not listed is drawn in OTHER_COLOUR.
PROTOCOL_COLOURS = {
    "SMTP": "#1f77b4", "POP3": "#2ca02c", "IMAP": "#9467bd", "HTTP": "#ff7f0e",
    "DNS": "#8c564b", "TLS": "#d62728", "unknown": "#7f7f7f",
}
OTHER_COLOUR = "#17becf"
NO_TRAFFIC_COLOUR = "#c8c8c8"
HANDSHAKE_COLOUR, FIN_COLOUR, RST_COLOUR = "#555555", "#555555", "#d62728"
LANE_WIDTH, ROW_HEIGHT, TOP = 170, 24, 50


def colour_of(protocol: str) -> str:
    """The colour a protocol is drawn in."""
    return PROTOCOL_COLOURS.get(protocol, OTHER_COLOUR)


def _text(x: float, y: float, words: str, css: str = "", anchor: str = "middle") -> str:
    return (f'<text x="{x:.0f}" y="{y:.0f}" text-anchor="{anchor}" class="{css}">'
            f"{escape(words)}</text>")


def topology_svg(view: TopologyView) -> str:
    """The topology: hosts on a circle, links coloured and labelled by protocol."""
    count = max(len(view.hosts), 1)
    radius = 60 + 28 * count
    width, height = 2 * radius + 260, 2 * radius + 100
    centre_x, centre_y = width / 2, height / 2
    place = {host: (centre_x + radius * math.cos(2 * math.pi * i / count - math.pi / 2),
                    centre_y + radius * math.sin(2 * math.pi * i / count - math.pi / 2))
             for i, host in enumerate(view.hosts)}
    parts = [f'<svg class="topology" width="{width:.0f}" '
             f'height="{height:.0f}" role="img" aria-label="topology">']
    for link in view.links:
        (x1, y1), (x2, y2) = place[link.client], place[link.server]
        protocols = link.protocols
        colour = colour_of(protocols[0]) if protocols else NO_TRAFFIC_COLOUR
        label = "/".join(protocols) or "no traffic"
        dash = "" if link.declared or not protocols else ' stroke-dasharray="8 4"'
        name = f"{link.client} -> {link.server}"
        parts.append(
            f'<g class="link" data-client="{escape(link.client)}" '
            f'data-server="{escape(link.server)}" data-protocols="{escape(label)}" '
            f'data-colour="{colour}"><title>{escape(name)}: {escape(label)} on '
            f'{escape(", ".join(link.networks))}</title>'
            f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" stroke="{colour}" '
            f'stroke-width="4"{dash}/>'
            + _text((x1 + x2) / 2, (y1 + y2) / 2 - 6, label, "link-label")
            + _text((x1 + x2) / 2, (y1 + y2) / 2 + 14, ", ".join(link.networks),
                    "link-network") + "</g>")
    for host, (x, y) in place.items():
        parts.append(f'<g class="host" data-host="{escape(host)}"><circle cx="{x:.0f}" '
                     f'cy="{y:.0f}" r="9" fill="#ffffff" stroke="#333333" stroke-width="2"/>'
                     + _text(x, y + 26, host, "host-label") + "</g>")
    parts.append("</svg>")
    return "".join(parts)


def _arrow(x1: float, x2: float, y: float, colour: str, label: str, css: str,
           dashed: bool = False) -> str:
    head = 6 if x2 > x1 else -6
    dash = ' stroke-dasharray="5 3"' if dashed else ""
    return (f'<g class="{css}"><line x1="{x1:.0f}" y1="{y:.0f}" x2="{x2 - head:.0f}" '
            f'y2="{y:.0f}" stroke="{colour}" stroke-width="2"{dash}/>'
            f'<polygon points="{x2:.0f},{y:.0f} {x2 - head:.0f},{y - 4:.0f} '
            f'{x2 - head:.0f},{y + 4:.0f}" fill="{colour}"/>'
            + _text((x1 + x2) / 2, y - 4, label, "arrow-label") + "</g>")


def sequence_svg(lanes: list[str],
                 conversations: list[tuple[str, str, ConversationReport]]) -> str:
    """One lane per host; per conversation (client, server, report): handshake, data, close."""
    rows = sum(3 for _ in conversations) + 1
    width, height = LANE_WIDTH * max(len(lanes), 1) + 40, TOP + rows * ROW_HEIGHT + 20
    x_of = {lane: 20 + LANE_WIDTH * (i + 0.5) for i, lane in enumerate(lanes)}
    parts = [f'<svg class="sequence" width="{width:.0f}" '
             f'height="{height:.0f}" role="img" aria-label="sequence diagram">']
    for lane, x in x_of.items():
        parts.append(f'<g class="lane" data-lane="{escape(lane)}">'
                     + _text(x, 24, lane, "lane-label")
                     + f'<line x1="{x:.0f}" y1="32" x2="{x:.0f}" y2="{height - 10:.0f}" '
                     f'stroke="#999999" stroke-dasharray="2 3"/></g>')
    y = TOP
    for number, (client, server, report) in enumerate(conversations, 1):
        x1, x2 = x_of[client], x_of[server]
        phases = report.phases
        parts.append(f'<g class="conversation" data-number="{number}" '
                     f'data-protocol="{escape(report.protocol)}">')
        if phases is not None and phases.syn is not None:
            shake = "SYN, SYN-ACK, ACK" + (" (incomplete)" if phases.ack is None else "")
            parts.append(_arrow(x1, x2, y, HANDSHAKE_COLOUR, shake, "phase handshake", True))
        elif phases is not None:
            parts.append(_text(x1, y, "(no handshake seen)", "phase missing", "middle"))
        data = f"#{number} {report.protocol}" + ("" if report.transport == "tcp"
                                                 else f" ({report.transport})")
        parts.append(_arrow(x1, x2, y + ROW_HEIGHT, colour_of(report.protocol), data,
                            "phase data"))
        if phases is not None and phases.close in ("fin", "half-closed", "rst"):
            by_client = phases.closed_by != "server"
            start, end = (x1, x2) if by_client else (x2, x1)
            kind = "RST" if phases.close == "rst" else "FIN"
            colour = RST_COLOUR if kind == "RST" else FIN_COLOUR
            parts.append(_arrow(start, end, y + 2 * ROW_HEIGHT, colour, kind,
                                f"phase close {kind.lower()}", True))
        elif phases is not None:
            parts.append(_text((x1 + x2) / 2, y + 2 * ROW_HEIGHT, "still open (partial)",
                               "phase open"))
        parts.append("</g>")
        y += 3 * ROW_HEIGHT
    parts.append("</svg>")
    return "".join(parts)

# One observer per protocol: a conversation's segments in, its Dialog out.
#
# Every observer is a module of this package exposing
#     observe(segments: Sequence[Segment], transport: str = "tcp") -> Dialog
# and OBSERVERS maps the protocol name (as identify.py names it) to it. A protocol
# without an observer (unknown) gets its lines as steps (lines.py): a transcript, no
# facts. build_dialog() is the one entry point the analyzer calls.
from __future__ import annotations

from collections.abc import Callable, Sequence

from labctl.analysis.dialog import Dialog
from labctl.analysis.dialogs import dns, http, imap, lines, pop3, smtp, tls
from labctl.analysis.results import Segment
from labctl.model.topology import DNS, HTTP, IMAP, POP3, SMTP, TLS

Observer = Callable[[Sequence[Segment], str], Dialog]

OBSERVERS: dict[str, Observer] = {
    SMTP: smtp.observe, POP3: pop3.observe, IMAP: imap.observe, HTTP: http.observe,
    DNS: dns.observe, TLS: tls.observe,
}


def build_dialog(protocol: str, segments: Sequence[Segment], transport: str = "tcp") -> Dialog:
    """The Dialog of a conversation identified as `protocol`."""
    observer = OBSERVERS.get(protocol)
    if observer is None:
        return lines.observe_as(protocol, segments)
    return observer(segments, transport)

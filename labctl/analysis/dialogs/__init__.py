# One observer per protocol: a conversation's segments in, its Dialog out.
#
# Every observer is a module of this package exposing
#     observe(segments: Sequence[Segment], transport: str = "tcp") -> Dialog
# and OBSERVERS maps the protocol name (as identify.py names it) to that module, imported
# the first time a conversation of its protocol comes (a capture of SMTP never loads the
# DNS or HTTP parsers). A protocol without an observer (unknown) gets its lines as steps
# (lines.py): a transcript, no facts. build_dialog() is the one entry point the analyzer
# calls.
from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import import_module

from labctl.analysis.dialog import Dialog
from labctl.analysis.dialogs import lines
from labctl.analysis.results import Segment
from labctl.model.topology import DNS, HTTP, IMAP, POP3, SMTP, TLS

Observer = Callable[[Sequence[Segment], str], Dialog]

OBSERVERS: dict[str, str] = {  # protocol -> the module of this package that observes it
    SMTP: "smtp", POP3: "pop3", IMAP: "imap", HTTP: "http", DNS: "dns", TLS: "tls",
}


def build_dialog(protocol: str, segments: Sequence[Segment], transport: str = "tcp") -> Dialog:
    """The Dialog of a conversation identified as `protocol`."""
    module = OBSERVERS.get(protocol)
    if module is None:
        return lines.observe_as(protocol, segments)
    observer: Observer = import_module(f"{__name__}.{module}").observe
    return observer(segments, transport)

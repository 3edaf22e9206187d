# build_dialog: each protocol to its observer; unknown ones as lines; TLS as one step.
from __future__ import annotations

from labctl.analysis.dialog import COMMAND, REPLY, TLS, UNREADABLE
from labctl.analysis.dialogs import OBSERVERS, build_dialog
from labctl.analysis.transcript import build_transcript
from labctl.model import POP3, SMTP
from tests.analysis.dialogs.wire import wire


def test_smtp_and_pop3_have_observers() -> None:
    assert {SMTP, POP3, "TLS"} <= set(OBSERVERS)
    assert build_dialog(SMTP, wire("S: 220 mx|")).protocol == SMTP


def test_unknown_protocol_is_kept_as_lines_in_capture_order() -> None:
    dialog = build_dialog("unknown", wire("C: hello there|", "S: SSH-2.0-x|", "C: \xff|bye"))
    assert [(s.kind, s.label, s.text) for s in dialog.steps] == [
        (COMMAND, "hello", "there"), (REPLY, "SSH-2.0-x", ""), (COMMAND, "\xff", ""),
        (UNREADABLE, "?", "no line ending")]
    assert build_transcript(dialog) == ["C: hello there", "S: SSH-2.0-x", "C: \\xc3\\xbf",
                                        "C: bye"]
    assert dialog.problems == ["client's last line has no line ending: bye"]


def test_implicit_tls_is_one_step() -> None:
    dialog = build_dialog("TLS", wire(b"C: \x16\x03\x01\x00\x01x", b"S: \x16\x03\x03\x00\x01y"))
    assert [s.kind for s in dialog.steps] == [TLS] and dialog.tls_from == 0.0
    assert build_transcript(dialog) == [
        "C: [TLS: 6 bytes from the client, 6 from the server, encrypted]"]

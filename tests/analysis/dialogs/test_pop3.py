# The POP3 observer on hand-written conversations: bodies by the grammar's rule, the
# RFC 1939 states (UPDATE), STLS, SASL and truncation.
from __future__ import annotations

from labctl.analysis.dialog import PipelinedCommand, Pop3Action
from labctl.analysis.dialogs.pop3 import observe
from tests.analysis.dialogs.wire import wire

LOGIN = ("S: +OK ready|", "C: USER bob|", "S: +OK|", "C: PASS pw|", "S: +OK 2 messages|")


def test_session_reaching_update() -> None:
    dialog = observe(wire(*LOGIN, "C: STAT|", "S: +OK 2 320|", "C: LIST|",
                          "S: +OK 2 messages|1 120|2 200|.|", "C: LIST 2|", "S: +OK 2 200|",
                          "C: RETR 1|", "S: +OK 120 octets|Subject: hi||..dot|.|",
                          "C: DELE 1|", "S: +OK deleted|", "C: RETR 9|", "S: -ERR no message 9|",
                          "C: QUIT|", "S: +OK bye|"))
    assert dialog.labels()[5:] == [
        "STAT", "+OK", "LIST", "+OK", "list", ".", "LIST", "+OK", "RETR", "+OK", "message", ".",
        "DELE", "+OK", "RETR", "-ERR", "QUIT", "+OK"]
    assert dialog.payloads() == [b"1 120\r\n2 200\r\n", b"Subject: hi\r\n\r\n..dot\r\n"]
    assert dialog.pop3 == [Pop3Action("STAT", "", True), Pop3Action("LIST", "", True),
                           Pop3Action("LIST", "2", True), Pop3Action("RETR", "1", True),
                           Pop3Action("DELE", "1", True), Pop3Action("RETR", "9", False)]
    assert dialog.pop3_reached_update and dialog.problems == []


def test_quit_before_login_does_not_reach_update() -> None:
    dialog = observe(wire("S: +OK ready|", "C: USER bob|", "S: +OK|", "C: PASS no|",
                          "S: -ERR [AUTH] invalid|", "C: QUIT|", "S: +OK bye|"))
    assert dialog.labels() == ["+OK", "USER", "+OK", "PASS", "-ERR", "QUIT", "+OK"]
    assert not dialog.pop3_reached_update


def test_stls_turns_the_rest_into_tls() -> None:
    dialog = observe(wire("S: +OK ready|", "C: STLS|", "S: +OK begin TLS|",
                          b"C: \x16\x03\x01\x00\x01x"))
    assert dialog.labels() == ["+OK", "STLS", "+OK", "TLS"]
    assert dialog.tls_from == 3.0 and dialog.problems == []


def test_sasl_login_enters_transaction() -> None:
    dialog = observe(wire("S: +OK ready|", "C: AUTH PLAIN|", "S: + |", "C: AGJvYgBwdw==|",
                          "S: +OK logged in|", "C: QUIT|", "S: +OK bye|"))
    assert dialog.labels() == ["+OK", "AUTH", "+", "SASL response", "+OK", "QUIT", "+OK"]
    assert dialog.pop3_reached_update


def test_body_cut_by_the_end_of_the_capture() -> None:
    dialog = observe(wire(*LOGIN, "C: RETR 1|", "S: +OK|Subject: cut|"))
    assert dialog.labels()[-3:] == ["RETR", "+OK", "message"]
    assert dialog.problems == ["the multi-line reply to RETR never ended with a '.' line"]
    assert not dialog.pop3_reached_update


def test_broken_lines_are_problems_not_exceptions() -> None:
    dialog = observe(wire("S: +OK ready|", "C: \x01\x02|", "S: bogus|", "S: -ERR what|",
                          "C: QUI"))
    assert dialog.labels() == ["+OK", "?", "-ERR", "?"]
    assert dialog.problems == [
        "client line not a command of POP3: command keyword is not 3-4 ASCII letters"
        " (line: '\\x01\\x02\\r\\n')",
        "server line not a POP3 status line: status line does not start with +OK or -ERR"
        " (line: 'bogus\\r\\n')",
        "client's last line has no line ending: QUI"]


CAPA_PIPELINING = ("C: CAPA|", "S: +OK|USER|PIPELINING|UIDL|.|")


def test_pipelining_without_the_capability_is_a_fact_and_a_problem() -> None:
    dialog = observe(wire("S: +OK ready|", "C: CAPA|", "S: +OK|USER|UIDL|.|",
                          "C: USER bob|PASS pw|", "S: +OK|", "S: +OK in|",
                          "C: STAT|", "S: +OK 0 0|"))
    assert dialog.labels()[-6:] == ["USER", "+OK", "PASS", "+OK", "STAT", "+OK"]
    assert dialog.pipelined == [PipelinedCommand("PASS", "USER", False, False, 3.0)]
    assert dialog.problems == ["client sent PASS before the reply to USER: the server did not"
                               " offer PIPELINING in its CAPA reply (RFC 2449)"]


def test_pipelining_the_server_offered_is_a_fact_and_no_problem() -> None:
    dialog = observe(wire("S: +OK ready|", *CAPA_PIPELINING, "C: USER bob|PASS pw|",
                          "S: +OK|+OK in|", "C: LIST|RETR 1|QUIT|",
                          "S: +OK|1 5|.|+OK|hello|.|+OK bye|"))
    assert [(p.command, p.after, p.allowed) for p in dialog.pipelined] == [
        ("PASS", "USER", True), ("RETR", "LIST", True), ("QUIT", "RETR", True)]
    assert all(p.pipelining_offered for p in dialog.pipelined)
    assert dialog.problems == [] and dialog.pop3_reached_update


def test_commands_each_after_its_reply_are_not_pipelined() -> None:
    dialog = observe(wire(*LOGIN, "C: STAT|", "S: +OK 0 0|", "C: QUIT|", "S: +OK bye|"))
    assert dialog.pipelined == [] and dialog.problems == []


def test_nothing_may_follow_stls_before_its_reply_even_with_pipelining() -> None:
    dialog = observe(wire("S: +OK ready|", *CAPA_PIPELINING, "C: STLS|USER bob|",
                          "S: -ERR not now|+OK|"))
    assert dialog.pipelined == [PipelinedCommand("USER", "STLS", True, False, 3.0)]
    assert dialog.problems == ["client sent USER before the reply to STLS: STLS must end a"
                               " pipelined group (the session changes with its reply)"]

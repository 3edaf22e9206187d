# The SMTP observer on hand-written conversations: pipelining, split terminators, BDAT,
# STARTTLS, bare LF, truncation, and the transaction facts.
from __future__ import annotations

import hashlib

from labctl.analysis.dialog import PAYLOAD, TLS, PipelinedCommand
from labctl.analysis.dialogs.smtp import observe
from tests.analysis.dialogs.wire import wire

HELLO = ("S: 220 mx ESMTP|", "C: EHLO c|")
TRANSACTION = ["MAIL FROM", "250", "RCPT TO", "250", "DATA", "354", "message", ".", "250"]


def test_pipelined_commands_are_matched_to_their_replies_in_order() -> None:
    dialog = observe(wire(*HELLO, "S: 250-mx|250 PIPELINING|",
                          "C: MAIL FROM:<a@c.fr>|RCPT TO:<b@h.edu>|RCPT TO:<x@h.edu>|DATA|",
                          "S: 250 ok|250 ok|550 no such user|354 go|",
                          "C: Subject: hi|||body|.|", "S: 250 queued|"))
    assert dialog.labels() == ["220", "EHLO", "250", "MAIL FROM", "250", "RCPT TO", "250",
                               "RCPT TO", "550", "DATA", "354", "message", ".", "250"]
    replies = {step.answers: dialog.steps[step.answers].label
               for step in dialog.steps if step.kind == "reply" and step.answers is not None}
    assert replies == {1: "EHLO", 3: "MAIL FROM", 5: "RCPT TO", 7: "RCPT TO", 9: "DATA",
                       12: "."}
    assert dialog.problems == []
    assert [(p.command, p.after, p.pipelining_offered, p.allowed) for p in dialog.pipelined] == [
        ("RCPT TO", "MAIL FROM", True, True), ("RCPT TO", "RCPT TO", True, True),
        ("DATA", "RCPT TO", True, True)]
    [transaction] = dialog.smtp
    assert transaction.rcpt_to == ("b@h.edu",) and transaction.rcpt_refused == ("x@h.edu",)
    assert transaction.subject == "hi" and transaction.accepted


def test_pipelining_without_the_extension_is_a_problem() -> None:
    dialog = observe(wire(*HELLO, "S: 250 mx|", "C: MAIL FROM:<a@c.fr>|RCPT TO:<b@h.edu>|",
                          "S: 250 ok|250 ok|"))
    assert dialog.labels() == ["220", "EHLO", "250", "MAIL FROM", "250", "RCPT TO", "250"]
    assert dialog.problems == [
        "client sent RCPT TO before the reply to MAIL FROM: the server did not offer PIPELINING"]
    # the fact the waits_for_replies check reads (a command not allowed to go early)
    assert dialog.pipelined == [PipelinedCommand("RCPT TO", "MAIL FROM", False, False, 3.0)]


def test_message_before_354_is_a_problem_even_with_pipelining() -> None:
    dialog = observe(wire(*HELLO, "S: 250-mx|250 PIPELINING|",
                          "C: MAIL FROM:<a@c.fr>|RCPT TO:<b@h.edu>|DATA|hi|.|",
                          "S: 250 ok|250 ok|354 go|250 queued|"))
    assert dialog.labels()[-4:] == ["354", "message", ".", "250"]
    assert dialog.problems == ["client sent the message before the 354 reply to DATA"]
    # MAIL FROM and RCPT TO were pipelined as offered; the message had to wait for 354
    assert [(p.command, p.allowed) for p in dialog.pipelined] == [
        ("RCPT TO", True), ("DATA", True), ("message", False)]


def test_terminator_split_across_segments_and_dot_stuffing() -> None:
    dialog = observe(wire(*HELLO, "S: 250 mx|", "C: MAIL FROM:<a@c.fr>|", "S: 250 ok|",
                          "C: RCPT TO:<b@h.edu>|", "S: 250 ok|", "C: DATA|", "S: 354 go|",
                          "C: Subject: s||..leading dot|", "C: .\r", "C: \n", "S: 250 ok|",
                          "C: QUIT|", "S: 221 bye|"))
    assert dialog.labels() == ["220", "EHLO", "250", *TRANSACTION, "QUIT", "221"]
    assert dialog.pipelined == []  # each command after the reply to the previous one
    assert dialog.payloads() == [b"Subject: s\r\n\r\n..leading dot\r\n"]
    [transaction] = dialog.smtp
    assert transaction.size == len(b"Subject: s\r\n\r\n.leading dot\r\n")
    assert transaction.body_sha256 == hashlib.sha256(b".leading dot\r\n").hexdigest()
    assert dialog.steps[-5].timestamp == 9.0  # the "." step: where its first byte came
    assert dialog.problems == []


def test_bdat_chunks_are_taken_by_size() -> None:
    dialog = observe(wire(*HELLO, "S: 250-mx|250 CHUNKING|", "C: MAIL FROM:<a@c.fr>|",
                          "S: 250 ok|", "C: RCPT TO:<b@h.edu>|", "S: 250 ok|",
                          "C: BDAT 12|Subject: x|", "S: 250 12 octets|",
                          "C: BDAT 7 LAST|.body|", "S: 250 queued|",
                          "C: MAIL FROM:<a@c.fr>|", "S: 250 ok|"))
    assert dialog.labels()[7:] == ["BDAT", "chunk", "250", "BDAT", "chunk", "250",
                                   "MAIL FROM", "250"]
    [transaction] = dialog.smtp
    assert transaction.size == 19 and transaction.accepted and transaction.subject == "x"
    assert dialog.problems == []


def test_starttls_turns_the_rest_into_tls_and_injected_commands_are_said() -> None:
    dialog = observe(wire(*HELLO, "S: 250-mx|250 STARTTLS|", "C: STARTTLS|RSET|",
                          "S: 220 go ahead|", b"C: \x16\x03\x01\x00\x05hello",
                          b"S: \x16\x03\x03\x00\x02hi"))
    assert dialog.labels() == ["220", "EHLO", "250", "STARTTLS", "220", "TLS"]
    tls = dialog.steps[-1]
    assert tls.kind == TLS and dialog.tls_from == 5.0
    assert tls.text == "10 bytes from the client, 7 from the server, encrypted"
    assert dialog.problems == [
        "client sent 6 bytes after STARTTLS before TLS began (a server must ignore them)"]


def test_bare_lf_is_a_problem() -> None:
    dialog = observe(wire(*HELLO[:1], "C: EHLO c\n", "S: 250 mx|", "C: MAIL FROM:<a@c.fr>|",
                          "S: 250 ok|", "C: RCPT TO:<b@h.edu>|", "S: 250 ok|", "C: DATA|",
                          "S: 354 go|", "C: a\nb|.|", "S: 250 ok|"))
    assert dialog.labels()[-3:] == ["message", ".", "250"]
    assert dialog.problems == [
        "client ended EHLO with a bare LF, not CRLF (RFC 5321 2.3.8)",
        "the message has lines ending in a bare LF, not CRLF"]
    assert dialog.bare_lf == ["EHLO", "message"]  # the fact the line_endings check reads


def test_bare_lf_before_the_dot_leaves_the_message_unended_and_is_said() -> None:
    dialog = observe(wire(*HELLO, "S: 250 mx|", "C: MAIL FROM:<a@c.fr>|", "S: 250 ok|",
                          "C: RCPT TO:<b@h.edu>|", "S: 250 ok|", "C: DATA|", "S: 354 go|",
                          "C: a|b\n.\n"))
    assert dialog.labels()[-2:] == ["354", "message"]
    assert dialog.bare_lf == ["message"] and dialog.pipelined == []
    assert "the message has lines ending in a bare LF, not CRLF" in dialog.problems


def test_truncated_conversation_says_what_is_missing() -> None:
    dialog = observe(wire(*HELLO, "S: 250 mx|", "C: MAIL FROM:<a@c.fr>|", "S: 250 ok|",
                          "C: RCPT TO:<b@h.edu>|", "S: 250 ok|", "C: DATA|", "S: 354 go|",
                          "C: Subject: cut|", "C: half"))
    assert dialog.labels()[-2:] == ["354", "message"]
    assert dialog.payloads() == [b"Subject: cut\r\nhalf"]
    assert dialog.problems == ["the message after 354 never ended with a '.' line"]
    [transaction] = dialog.smtp
    assert transaction.reply == "" and not transaction.accepted


def test_unanswered_commands_and_a_cut_reply() -> None:
    dialog = observe(wire(*HELLO, "S: 250-mx|250-PIPELINING|", "C: QUIT|"))
    assert dialog.labels() == ["220", "EHLO", "QUIT"]
    assert dialog.problems == ["reply 250 has no last line",
                               "the capture ends before the server answered EHLO",
                               "client sent QUIT and the capture holds no reply to it"]


def test_capture_started_after_the_greeting() -> None:
    dialog = observe(wire("C: RSET|", "S: 250 ok|", "C: QUIT|", "S: 221 bye|"))
    assert dialog.labels() == ["RSET", "250", "QUIT", "221"]
    assert dialog.problems == ["the capture starts after the server's greeting"]


def test_server_accepting_what_maillab_refuses_is_followed() -> None:
    # maillab's server refuses DATA without a recipient; the observed one answered 354
    dialog = observe(wire(*HELLO, "S: 250 mx|", "C: MAIL FROM:<a@c.fr> RET=HDRS|",
                          "S: 250 ok|", "C: DATA|", "S: 354 go|", "C: QUIT|.|",
                          "S: 250 ok|"))
    assert dialog.labels()[5:] == ["DATA", "354", "message", ".", "250"]
    assert dialog.payloads() == [b"QUIT\r\n"]
    assert dialog.smtp[0].mail_from == "a@c.fr"


def test_sasl_exchange() -> None:
    dialog = observe(wire(*HELLO, "S: 250-mx|250 AUTH PLAIN|", "C: AUTH PLAIN|", "S: 334 |",
                          "C: AGJvYgBwdw==|", "S: 235 ok|", "C: MAIL FROM:<a@c.fr>|",
                          "S: 250 ok|"))
    assert dialog.labels()[3:] == ["AUTH", "334", "SASL response", "235", "MAIL FROM", "250"]
    assert dialog.problems == []
    assert [s.kind for s in dialog.steps].count(PAYLOAD) == 0

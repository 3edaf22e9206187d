# The streamed analysis output: each conversation is written when it comes (before the
# capture ends), hops interleaving in capture order, and the JSON reads back as the
# report contract's hops; the table and transcript say what the dialog found.
from __future__ import annotations

import io
import json

import pytest

from labctl.analysis.results import Conversation
from labctl.reports import AnalysisStream, HopReport
from tests.reports.report_samples import fetch_conversations, sample_hops


def conversations() -> list[Conversation]:
    return [c for hop in sample_hops() for c in hop.conversations] + fetch_conversations()


def test_json_is_written_as_conversations_come_and_reads_back_as_hops() -> None:
    out = io.StringIO()
    stream = AnalysisStream(out, "json")
    stream.begin_capture("captures/mixed.pcap", "mixed")
    first, *rest = conversations()
    stream.conversation(first)
    assert "mail.crepes.fr" in out.getvalue()  # written before the capture ends
    for conversation in rest:
        stream.conversation(conversation)
    assert not stream.end_capture(["1 packet(s) skipped: not IP (ethertype 0x0806)"], ["hi"])
    stream.finish()
    hops = [HopReport.model_validate(hop) for hop in json.loads(out.getvalue())]
    assert [h.name for h in hops] == ["sender-ua -> sender-mta", "? -> receiver-mta",
                                      "receiver-ua -> receiver-mta", "sender-mta -> dns"]
    assert hops[-1].comments == ["hi"] and hops[-1].problems and not hops[-1].incomplete
    assert hops[0].problems == [] and hops[-1].protocols == ["DNS"]
    assert hops[2].conversations[0].pop3_reached_update


def test_json_of_a_damaged_capture_without_conversations_keeps_its_problems() -> None:
    out = io.StringIO()
    stream = AnalysisStream(out, "json")
    stream.begin_capture("cut.pcap", "cut")
    assert stream.end_capture(["packet 3 at offset 90: truncated (4 of 60 bytes)"], [],
                              incomplete=True)  # as the analyzer says of such a file
    stream.finish()
    (hop,) = json.loads(out.getvalue())
    assert hop["conversations"] == [] and hop["incomplete"] is True and stream.incomplete


def test_table_and_transcript_show_phases_and_facts() -> None:
    for format, expected in (("table", ["1 transaction(s)", "handshake 0.5 ms",
                                        "closed by FIN from client", "TCP phases not analysed"]),
                             ("transcript", ["    C: EHLO pc", "= SMTP transaction: from "
                                             "<alice@crepes.fr> to <bob@hamburger.edu>",
                                             "POP3 session reached the UPDATE state",
                                             "= DNS MX hamburger.edu -> NOERROR",
                                             "closed by RST from server"])):
        out = io.StringIO()
        stream = AnalysisStream(out, format)
        stream.begin_capture("lab.pcap", "lab")
        for conversation in conversations():
            stream.conversation(conversation)
        stream.end_capture([], [])
        stream.finish()
        for text in expected:
            assert text in out.getvalue(), (format, text)


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="formats: table, json, transcript"):
        AnalysisStream(io.StringIO(), "xml")

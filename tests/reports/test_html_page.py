# The HTML page without a browser: self-contained (no script, no URL to fetch), every
# capture-borne string escaped, links coloured by protocol, relative pcap links, the
# sequence diagram's lanes and phases.
from __future__ import annotations

import re

from labctl.analysis.hops import group_into_hops
from labctl.model import LAB
from labctl.reports import HopReport, RolesFile, render_page, render_run_page
from labctl.reports.html_svg import PROTOCOL_COLOURS
from tests.reports.report_samples import SCRIPT_SUBJECT, fetch_conversations, sample_report


def page_hops() -> list[HopReport]:
    extra = group_into_hops(fetch_conversations(), "bob-lan", "captures/bob-lan.pcap")
    return sample_report().hops + [HopReport.from_hop(hop) for hop in extra]


def test_the_page_is_self_contained_and_escapes_the_capture() -> None:
    html = render_run_page(sample_report(), LAB)
    assert "<script" not in html.lower() and "http" not in html and "@import" not in html
    assert SCRIPT_SUBJECT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="alice-lan.pcap"' in html and 'href="internet.pcap"' in html


def test_links_are_coloured_and_labelled_by_protocol() -> None:
    html = render_page(page_hops(), "t", lab=LAB)
    smtp = re.search(r'<g class="link" data-client="sender-ua" data-server="sender-mta" '
                     r'data-protocols="SMTP" data-colour="([^"]+)"', html)
    assert smtp is not None and smtp.group(1) == PROTOCOL_COLOURS["SMTP"]
    assert 'data-client="receiver-ua" data-server="receiver-mta" data-protocols="POP3"' in html
    assert 'data-client="198.18.2.66" data-server="receiver-mta" data-protocols="SMTP"' in html
    assert "no traffic" in html  # a link of the lab nobody used


def test_sequence_diagram_has_lanes_and_tcp_phases_in_time_order() -> None:
    html = render_page(page_hops(), "t", lab=LAB)
    lanes = re.findall(r'<g class="lane" data-lane="([^"]+)"', html)
    assert {"sender-ua", "sender-mta", "receiver-mta", "receiver-ua", "dns"} <= set(lanes)
    protocols = re.findall(r'<g class="conversation" data-number="\d+" data-protocol="(\w+)"',
                           html)
    assert protocols == ["DNS", "SMTP", "SMTP", "POP3"]  # by start time
    assert html.count('class="phase handshake"') == 2
    assert 'class="phase close fin"' in html and 'class="phase close rst"' in html


def test_a_capture_without_lab_or_roles_draws_hosts_by_address() -> None:
    hops = [hop.model_copy(update={"client_role": None, "server_role": None})
            for hop in sample_report().hops]
    html = render_page(hops, "student capture")
    assert 'data-lane="198.18.1.10"' in html and 'data-lane="198.18.1.25"' in html
    assert "<li><b>alice-lan</b>: 198.18.1.10, 198.18.1.25</li>" in html


def test_a_roles_file_names_hosts_and_networks() -> None:
    roles = RolesFile.model_validate({"roles": {"pc": "198.18.1.10", "relay": "198.18.1.25",
                                                "idle": "10.9.9.9"},
                                      "networks": {"office": ["pc", "relay"]}})
    hops = [hop.model_copy(update={"client_role": "pc", "server_role": "relay"})
            for hop in sample_report().hops[:1]]
    html = render_page(hops, "t", roles=roles)
    assert 'data-host="idle"' in html and "<li><b>office</b>: pc, relay</li>" in html
    assert 'data-client="pc" data-server="relay" data-protocols="SMTP"' in html


def test_a_captures_notes_are_listed_once_with_its_incomplete_mark() -> None:
    hops = [hop.model_copy(update={"pcap": "cut.pcap", "problems": ["packet 9 truncated"],
                                   "comments": ["made by hand"], "incomplete": True})
            for hop in sample_report().hops]
    html = render_page(hops, "t")
    assert html.count("packet 9 truncated") == 1 and html.count("made by hand") == 1
    assert "cut.pcap (incomplete)" in html


def test_a_runs_checks_come_first_with_their_points_and_feedback() -> None:
    html = render_run_page(sample_report(), LAB)
    checks = html.index("<h2>Checks</h2>")
    assert checks < html.index("<h2>Topology</h2>") < html.index("<h2>Transcripts</h2>")
    assert '<tr class="pass"><td>PASS</td><td>1/1</td><td>submission</td>' in html
    assert '<tr class="fail"><td>FAIL</td><td>0/2.5</td><td>dialog</td>' in html
    assert "<pre>missing QUIT</pre>" in html
    assert "<h2>Checks</h2>" not in render_page(sample_report().hops, "capture only")

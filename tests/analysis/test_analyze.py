# The entry points: captures in, conversations and hops (with roles) out, including
# hops that are no lab link and hosts that are no lab role.
from __future__ import annotations

from pathlib import Path

import pytest

from labctl.analysis import PcapError, analyze_captures, analyze_pcap, analyze_pcap_file
from labctl.analysis.hops import lab_link_of
from labctl.model import POP3, SMTP, Addressing, addressing


def test_hops_group_conversations_by_roles(pcaps: Path, local: Addressing) -> None:
    hops = analyze_captures({"internet": pcaps / "internet_mixed.pcapng",
                             "bob-lan": pcaps / "pop3_port25.pcapng"}, local)
    summary = [(h.client_role, h.server_role, h.network, h.protocols, len(h.conversations))
               for h in hops]
    assert summary == [
        ("sender-mta", "receiver-mta", "internet", [SMTP], 1),
        ("sender-ua", "receiver-mta", "internet", [SMTP], 1),  # bypasses sender-mta
        (None, "receiver-mta", "internet", [SMTP], 1),  # not a lab host
        ("receiver-ua", "receiver-mta", "bob-lan", [POP3], 1),
    ]
    assert [lab_link_of(h, local) is not None for h in hops] == [True, False, False, True]
    assert hops[0].pcap == str(pcaps / "internet_mixed.pcapng")
    assert hops[0].comments[0] == "three SMTP clients"
    assert "1 packet(s) skipped: ARP" in hops[0].problems
    assert "1 packet(s) skipped: UDP that is not DNS" in hops[0].problems  # empty, port 0
    assert hops[3].problems == []


def test_conversation_fields(pcaps: Path, local: Addressing) -> None:
    [conversation] = analyze_pcap(pcaps / "smtp_real_lo.pcap", "internet", local)
    assert conversation.network == "internet"
    assert conversation.protocol == SMTP and conversation.handshake and conversation.closed
    assert 0 < conversation.start < conversation.end
    assert conversation.client_bytes().startswith(b"ehlo mail.crepes.fr\r\n")
    assert conversation.server_bytes().endswith(b"221 2.0.0 Bye\r\n")
    assert conversation.transcript[0] == "S: 220 mail.hamburger.edu ESMTP maillab fixture"


def test_compose_addresses_have_no_roles_in_a_local_capture(pcaps: Path) -> None:
    [conversation] = analyze_pcap(pcaps / "smtp_real_lo.pcap", "internet", addressing("compose"))
    assert conversation.client_role is None and conversation.server_role is None


def test_truncated_capture_is_analysed_with_a_note(pcaps: Path, local: Addressing) -> None:
    analysis = analyze_pcap_file(pcaps / "smtp_truncated.pcap", "internet", local)
    assert analysis.problems[0].startswith("packet 35 at offset 2812: truncated")
    [conversation] = analysis.conversations
    assert conversation.transcript[-1] == "S: 221 mail.hamburger.edu closing connection"


def test_unreadable_capture_raises_naming_it(tmp_path: Path, local: Addressing) -> None:
    broken = tmp_path / "internet.pcap"
    broken.write_bytes(b"\x00" * 40)
    with pytest.raises(PcapError, match=r"internet\.pcap: not a pcap or pcapng file"):
        analyze_captures({"internet": broken}, local)

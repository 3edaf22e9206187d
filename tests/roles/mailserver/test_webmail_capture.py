# Webmail traffic is recorded and identified like the other pull protocols: Bob's UA
# fetches through a recording relay in front of the webmail (as the local runtime runs
# it when packets cannot be captured), and the analyzer finds HTTP, from Bob's PC to his
# server, on bob-lan — the link where HTTP is one of the right protocols.
from __future__ import annotations

import asyncio
from pathlib import Path

from labctl.analysis import analyze_pcap_file
from labctl.capture.relay import RecordingRelay
from labctl.model import HTTP, LAB
from roles.useragent.mail_clients import Account, Endpoint
from roles.useragent.webmail_client import fetch_webmail
from tests.conftest import TEST_PLAN
from tests.roles.conftest import StartServer

from .webmail_peer import BOB, BOB_PASSWORD, BOB_PC, BOBS_SERVER

HELLO = b"From: alice@crepes.fr\r\nSubject: recorded\r\n\r\nketchup?\r\n"


async def test_a_webmail_fetch_is_recorded_as_http_on_bob_lan(
        tmp_path: Path, start_server: StartServer) -> None:
    server = await start_server("receiver-mta")
    server.mailboxes.deliver(BOB, HELLO)
    (webmail_port,) = {port for host, port in server.bound["webmail"] if host == BOBS_SERVER}
    relay = RecordingRelay((BOBS_SERVER, 0), (BOBS_SERVER, webmail_port))
    await relay.start()
    pcap = tmp_path / "bob-lan.pcapng"
    relay.start_recording(pcap)
    fetched = await asyncio.to_thread(fetch_webmail, Endpoint(*relay.address),
                                      Account(BOB, BOB_PASSWORD), BOB_PC, False)
    await relay.wait_idle()
    relay.stop_recording()
    await relay.stop()
    assert fetched == [HELLO]
    [conversation] = analyze_pcap_file(pcap, "bob-lan", TEST_PLAN).conversations
    assert conversation.protocol == HTTP
    assert (conversation.client_role, conversation.server_role) == ("receiver-ua", "receiver-mta")
    link = LAB.link_between("receiver-ua", "receiver-mta")
    assert link is not None and HTTP in link.protocols
    assert any(line.startswith("C: GET /api/mailboxes/bob@hamburger.edu/folders/INBOX/messages")
               for line in conversation.transcript)

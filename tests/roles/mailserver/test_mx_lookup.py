# The relay finds the receiving server as the Internet does: MX of the domain, then A of
# the MX host, asked of a real lab name server in-process. Unknown domains fail for
# good; a name server that does not answer is a temporary failure.
from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from labctl.model.zone import ResourceRecord, Zone, lab_zone
from roles.dns.responder import Responder
from roles.dns.server import DnsServer
from roles.mailserver.mx_lookup import Route, RouteError, lookup_route
from roles.mailserver.settings import MailServerSettings
from tests.roles.conftest import (
    DNS_HOST,
    MALLORY,
    RECEIVER_INTERNET,
    SENDER_INTERNET,
    TEST_PLAN,
    StartServer,
    settings_for,
    wait_until,
)

from .submission import ALICE, BOB, make_message, submit

Sender = Callable[[tuple[str, int]], MailServerSettings]


@pytest.fixture
def sender_settings(tmp_path: Path) -> Sender:
    """sender-mta's settings asking the name server at `resolver` (short timeout)."""
    def make(resolver: tuple[str, int]) -> MailServerSettings:
        base = settings_for("sender-mta", tmp_path / "sender", resolver=resolver)
        return dataclasses.replace(base, dns_timeout_seconds=0.3)
    return make


@pytest.fixture
async def odd_dns() -> AsyncIterator[DnsServer]:
    """A name server for a zone with the cases the lab zone does not have."""
    records = [ResourceRecord("odd.test", "SOA", "ns.odd.test. h.odd.test. 1 1 1 1 1")]
    for sub, mx in [("null", "0 ."), ("dangling", "10 gone.odd.test."),
                    ("mallory", "10 mallory.odd.test."), ("away", "10 away.odd.test."),
                    ("backup", "20 mail.odd.test.")]:
        records.append(ResourceRecord(f"{sub}.odd.test", "MX", mx))
    records += [ResourceRecord("backup.odd.test", "MX", "10 gone.odd.test."),
                ResourceRecord("mallory.odd.test", "A", MALLORY),
                ResourceRecord("away.odd.test", "A", "192.0.2.1"),
                ResourceRecord("mail.odd.test", "A", RECEIVER_INTERNET)]
    server = DnsServer(Responder(Zone(("odd.test",), tuple(records))), DNS_HOST, 0)
    await server.start()
    yield server
    await server.stop()


async def test_the_mx_answer_gives_the_receivers_internet_address(
        lab_dns: DnsServer, sender_settings: Sender, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="dns")
    route = await lookup_route(sender_settings(lab_dns.address), "Hamburger.EDU")
    assert route == Route("receiver-mta", "mail.hamburger.edu", RECEIVER_INTERNET, 2525,
                           SENDER_INTERNET)
    asked = [r.getMessage() for r in caplog.records if r.name == "dns" and " type=" in r.msg]
    assert len(asked) == 1, f"the additional section made the A query needless: {asked}"
    assert f"from={SENDER_INTERNET} name=Hamburger.EDU. type=MX rcode=NOERROR" in asked[0]


class WithoutAdditionalData(Responder):
    """A name server that leaves the additional section empty, as many do."""

    def _additional(self, record: ResourceRecord) -> list[Any]:
        return []


async def test_without_additional_data_the_a_record_is_asked(
        sender_settings: Sender, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="dns")
    server = DnsServer(WithoutAdditionalData(lab_zone(TEST_PLAN)), DNS_HOST, 0)
    await server.start()
    try:
        route = await lookup_route(sender_settings(server.address), "hamburger.edu")
    finally:
        await server.stop()
    assert route.host == RECEIVER_INTERNET
    asked = [r.getMessage() for r in caplog.records if r.name == "dns" and " type=" in r.msg]
    assert [m.split(" type=")[1].split()[0] for m in asked] == ["MX", "A"], asked


@pytest.mark.parametrize(("domain", "error"), [
    ("gmail.com", "domain gmail.com is not a lab domain: the lab's DNS refused"),
    ("nowhere.crepes.fr", "domain nowhere.crepes.fr does not exist in the lab's DNS"),
    ("internet.test", "domain internet.test has no MX record in the lab's DNS"),
])
async def test_a_domain_without_mx_in_the_lab_fails_for_good(
        lab_dns: DnsServer, sender_settings: Sender, domain: str, error: str) -> None:
    with pytest.raises(RouteError, match=error) as raised:
        await lookup_route(sender_settings(lab_dns.address), domain)
    assert raised.value.permanent


@pytest.mark.parametrize(("domain", "error"), [
    ("null.odd.test", r"accepts no mail \(null MX\)"),
    ("dangling.odd.test", r"MX host\(s\) of dangling.odd.test \(gone.odd.test\) have no address"),
    ("mallory.odd.test", f"at {re.escape(MALLORY)} is mallory, not a lab mail server"),
    ("away.odd.test", "at 192.0.2.1 is not a lab host"),
])
async def test_mx_records_that_lead_nowhere_fail_for_good(
        odd_dns: DnsServer, sender_settings: Sender, domain: str, error: str) -> None:
    with pytest.raises(RouteError, match=error) as raised:
        await lookup_route(sender_settings(odd_dns.address), domain)
    assert raised.value.permanent


async def test_mx_hosts_are_tried_by_preference_until_one_has_an_address(
        odd_dns: DnsServer, sender_settings: Sender) -> None:
    route = await lookup_route(sender_settings(odd_dns.address), "backup.odd.test")
    assert route.role == "receiver-mta" and route.host == RECEIVER_INTERNET


async def test_a_silent_name_server_is_a_temporary_failure(sender_settings: Sender) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind((DNS_HOST, 0))
        with pytest.raises(RouteError, match=r"did not answer hamburger\.edu MX") as raised:
            await lookup_route(sender_settings(silent.getsockname()), "hamburger.edu")
    assert not raised.value.permanent


async def test_relay_keeps_mail_queued_while_the_name_server_is_silent(
        start_server: StartServer, lab_dns: DnsServer) -> None:
    await lab_dns.stop()  # nothing answers at the resolver's address any more
    sender = await start_server("sender-mta")
    await asyncio.to_thread(submit, sender.address("submission"),
                            make_message(ALICE, BOB, "no dns"))
    await wait_until(lambda: any(m.attempts >= 2 for m in sender.queue.messages()))
    (queued,) = sender.queue.messages()
    assert queued.last_error is not None and f"the lab's DNS at {DNS_HOST}" in queued.last_error
    assert sender.queue.failed() == []

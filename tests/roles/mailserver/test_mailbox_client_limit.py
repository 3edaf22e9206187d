# POP3 and IMAP connections beyond the server's limit are refused at once, in each
# protocol's own words (RFC 2449 [SYS/TEMP]; an IMAP BYE greeting), and a place that
# frees up is served again: a client opening connections without end cannot starve the
# server of file descriptors.
from __future__ import annotations

import pytest

from labctl.protocols import imap, pop3
from tests.roles.conftest import StartServer, wait_until
from tests.roles.mailserver.line_client import LineClient


@pytest.mark.parametrize(("service", "refusal", "greeting"), [
    ("pop3", pop3.replies.TOO_MANY_CONNECTIONS.to_bytes(), b"+OK "),
    ("imap", imap.replies.TOO_MANY_CONNECTIONS.untagged().to_bytes(), b"* OK "),
])
async def test_connections_over_the_limit_are_refused_then_served_again(
    start_server: StartServer, service: str, refusal: bytes, greeting: bytes
) -> None:
    server = await start_server("receiver-mta", max_connections=2)
    first = await LineClient.connect(server, service)
    second = await LineClient.connect(server, service)
    third = await LineClient.connect(server, service, read_greeting=False)
    assert await third.read_reply() == refusal
    assert await third.reader.read() == b""  # and the connection is closed
    await first.close()
    await second.close()
    await wait_until(lambda: server.mailbox_clients == 0)
    again = await LineClient.connect(server, service, read_greeting=False)
    assert (await again.read_reply()).startswith(greeting)
    await again.close()

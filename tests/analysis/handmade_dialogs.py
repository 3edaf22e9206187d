# The hand-made captures of whole conversations (handmade_captures.py writes them): the
# dialogs the analyzer must follow where a real peer is hard to make misbehave. Each is
# one TCP connection, a step every 0.1 s, closed by FIN both ways.
from __future__ import annotations

from collections.abc import Callable

from labctl.analysis.results import Endpoint
from tests.analysis.handmade import CLIENT4, Flow, pcap_bytes

Script = list[tuple[bool, bytes]]
SERVER = "127.77.2.26"
TLS_CLIENT_HELLO = b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00"
TLS_SERVER_HELLO = b"\x16\x03\x03\x00\x04\x02\x00\x00\x00"

SMTP_STARTTLS: Script = [
    (False, b"220 mail.hamburger.edu ESMTP\r\n"), (True, b"EHLO mail.crepes.fr\r\n"),
    (False, b"250-mail.hamburger.edu\r\n250-PIPELINING\r\n250 STARTTLS\r\n"),
    (True, b"STARTTLS\r\n"), (False, b"220 2.0.0 Ready to start TLS\r\n"),
    (True, TLS_CLIENT_HELLO), (False, TLS_SERVER_HELLO), (True, b"\x17\x03\x03\x00\x02hi"),
]
IMAP_LITERAL_CONTINUED: Script = [  # the server knows ID: `+`, then the literal
    (False, b"* OK [CAPABILITY IMAP4rev1 ID] ready\r\n"),
    (True, b'a1 ID ("name" {4}\r\n'), (False, b"+ OK\r\n"), (True, b"mutt)\r\n"),
    (False, b'* ID ("name" "Dovecot")\r\na1 OK ID completed\r\n'),
    (True, b"a2 LOGOUT\r\n"), (False, b"* BYE bye\r\na2 OK done\r\n"),
]
IMAP_LITERAL_REFUSED: Script = [  # an unknown command: BAD, and the client drops it
    (False, b"* OK [CAPABILITY IMAP4rev1] ready\r\n"),
    (True, b"a1 XFROB {4}\r\n"), (False, b"a1 BAD unknown command\r\n"),
    (True, b"a2 LOGOUT\r\n"), (False, b"* BYE bye\r\na2 OK done\r\n"),
]
HTTP_RESYNC: Script = [  # a bad header; the server answers 400 and keeps the connection
    (True, b"GET /inbox HTTP/1.1\r\nHost: mail\r\nno colon here\r\n\r\n"),
    (False, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
    (True, b"GET /inbox HTTP/1.1\r\nHost: mail\r\n\r\n"),
    (False, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
]
POP3_LOGIN: Script = [(False, b"+OK POP3 ready\r\n")]
POP3_PIPELINED_NOT_OFFERED: Script = [
    *POP3_LOGIN, (True, b"CAPA\r\n"), (False, b"+OK\r\nUSER\r\nUIDL\r\n.\r\n"),
    (True, b"USER bob\r\nPASS hungry\r\n"), (False, b"+OK\r\n+OK logged in\r\n"),
    (True, b"RETR 1\r\nQUIT\r\n"), (False, b"+OK\r\nhi\r\n.\r\n+OK bye\r\n"),
]
POP3_PIPELINED_OFFERED: Script = [
    *POP3_LOGIN, (True, b"CAPA\r\n"), (False, b"+OK\r\nUSER\r\nPIPELINING\r\n.\r\n"),
    *POP3_PIPELINED_NOT_OFFERED[3:],
]
POP3_ONE_AT_A_TIME: Script = [
    *POP3_LOGIN, (True, b"USER bob\r\n"), (False, b"+OK\r\n"), (True, b"PASS hungry\r\n"),
    (False, b"+OK logged in\r\n"), (True, b"QUIT\r\n"), (False, b"+OK bye\r\n"),
]


def conversation(port: int, script: Script) -> Callable[[], bytes]:
    """A maker of the capture of `script` between CLIENT4 and the server on `port`."""
    def make() -> bytes:
        flow = Flow(CLIENT4, Endpoint(SERVER, port))
        flow.session(1.0, script)
        return pcap_bytes(flow.packets)
    return make


MAKERS: dict[str, Callable[[], bytes]] = {
    "smtp_starttls.pcap": conversation(25, SMTP_STARTTLS),
    "imap_literal_continued.pcap": conversation(143, IMAP_LITERAL_CONTINUED),
    "imap_literal_refused.pcap": conversation(143, IMAP_LITERAL_REFUSED),
    "http_resync.pcap": conversation(80, HTTP_RESYNC),
    "pop3_pipelined_not_offered.pcap": conversation(110, POP3_PIPELINED_NOT_OFFERED),
    "pop3_pipelined_offered.pcap": conversation(110, POP3_PIPELINED_OFFERED),
    "pop3_one_at_a_time.pcap": conversation(110, POP3_ONE_AT_A_TIME),
}

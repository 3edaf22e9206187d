# The HTTP observer on hand-written conversations (keep-alive, pipelining, chunked and
# Content-Length bodies, HEAD, 100-continue, bodies ended by the close, big bodies,
# broken, truncated and random input) and on real traffic: curl and httpx against a
# small HTTP/1.1 server, captured with tcpdump, compared with tshark's HTTP dissector.
from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings

from labctl.analysis.dialog import COMMAND, PAYLOAD, REPLY, UNREADABLE, HttpExchange
from labctl.analysis.dialogs._http_resync import LostBytes
from labctl.analysis.dialogs.http import KEPT_BODY, observe
from labctl.analysis.results import Segment
from tests.analysis.dialogs.loopback import capturing, tcp_conversations, tshark_fields
from tests.analysis.dialogs.scripts import Script, mangled, segments
from tests.conftest import TEST_PLAN
from tests.peers.tools import run

KEEP_ALIVE: Script = [
    (True, b"GET /inbox HTTP/1.1\r\nHost: mail.hamburger.edu\r\n\r\n"
           b"POST /send HTTP/1.1\r\nHost: mail.hamburger.edu\r\nContent-Length: 5\r\n\r\nhel"),
    (True, b"lo"),
    (False, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwxyz\r\n0\r\n\r\n"),
    (True, b"HEAD /inbox HTTP/1.1\r\nHost: mail.hamburger.edu\r\n\r\n"),
    (False, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"),
    (True, b"PUT /draft HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"),
    (False, b"HTTP/1.1 100 Continue\r\n\r\n"),
    (True, b"hi"),
    (False, b"HTTP/1.1 204 No Content\r\n\r\n"),
]


def test_keep_alive_and_pipelined_exchanges() -> None:
    dialog = observe(segments(KEEP_ALIVE))
    assert dialog.labels() == ["GET", "200", "body", "POST", "body", "201", "body", "HEAD", "200",
                               "PUT", "100", "body", "204"]
    assert dialog.problems == []
    assert dialog.http == [
        HttpExchange("GET", "/inbox", 200, 0, 3), HttpExchange("POST", "/send", 201, 5, 4),
        HttpExchange("HEAD", "/inbox", 200, 0, 0), HttpExchange("PUT", "/draft", 204, 2, 0)]
    assert [s.answers for s in dialog.steps if s.kind == REPLY] == [0, 3, 7, 9, 9]
    assert dialog.payloads() == [b"abc", b"hello", b"wxyz", b"hi"]
    assert dialog.steps[0].text == "GET /inbox HTTP/1.1\nHost: mail.hamburger.edu"
    assert dialog.steps[5].text == "HTTP/1.1 201 Created\nTransfer-Encoding: chunked"
    assert dialog.steps[3].timestamp == 0.0 and dialog.steps[4].timestamp == 0.0


@pytest.mark.parametrize("split", [1, 5])
def test_segment_boundaries_do_not_matter(split: int) -> None:
    whole, cut = observe(segments(KEEP_ALIVE)), observe(segments(KEEP_ALIVE, split))
    assert (cut.labels(), cut.http, cut.payloads()) == (whole.labels(), whole.http,
                                                        whole.payloads())


def test_a_big_body_is_counted_whole_and_kept_in_part() -> None:
    body = bytes(range(256)) * 1024
    dialog = observe(segments([
        (True, b"GET /big HTTP/1.0\r\n\r\n"), (False, b"HTTP/1.0 200 OK\r\n\r\n" + body)]))
    assert dialog.http == [HttpExchange("GET", "/big", 200, 0, len(body))]
    assert dialog.payloads() == [body[:KEPT_BODY]]
    assert dialog.steps[-1].text == f"{len(body)} octets, the first {KEPT_BODY} kept"
    assert dialog.problems == []  # HTTP/1.0 without a length: the close ends the body


def test_what_is_not_http_is_unreadable_where_it_is() -> None:
    dialog = observe(segments([
        (True, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        (False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        (True, b"\x00\x01 hello\r\n\r\n"), (False, b"HTTP/1.1 400 Bad Request\r\n\r\n")]))
    assert [s.kind for s in dialog.steps] == [COMMAND, REPLY, UNREADABLE]
    assert dialog.problems[0].startswith("client byte 27 at 2.000000: not HTTP/1.x:")
    assert dialog.problems[1] == "server byte 38 at 3.000000: 28 octets answering no request read"


GET_A = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
OK_A = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"


def test_reading_goes_on_at_the_next_request_once_the_server_answered_the_bad_bytes() -> None:
    dialog = observe(segments([
        (True, GET_A), (False, OK_A), (True, b"GET /b HTTP/1.1\r\nBad header\r\n\r\n"),
        (False, BAD_REQUEST), (True, b"GET /c HTTP/1.1\r\nHost: x\r\n\r\n"),
        (False, b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno")]))
    assert [s.kind for s in dialog.steps] == [COMMAND, REPLY, PAYLOAD, UNREADABLE, COMMAND,
                                              REPLY, PAYLOAD]
    assert dialog.http == [HttpExchange("GET", "/a", 200, 0, 1),
                           HttpExchange("GET", "/c", 404, 0, 2)]
    assert dialog.steps[5].answers == 4 and dialog.payloads() == [b"a", b"no"]
    assert dialog.problems[1:] == [
        "client byte 59 at 4.000000: read again from this request on (0 client and 47 server"
        " octets skipped)"]
    assert dialog.problems[0].startswith("client byte 28 at 2.000000: not HTTP/1.x:")


def test_a_server_response_that_does_not_read_is_skipped_to_the_next_request() -> None:
    dialog = observe(segments([
        (True, GET_A), (False, b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n??"),
        (True, b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n"), (False, OK_A)]))
    assert dialog.labels() == ["GET", "unreadable", "GET", "200", "body"]
    assert dialog.http == [HttpExchange("GET", "/a", None, 0, 0),
                           HttpExchange("GET", "/b", 200, 0, 1)]
    assert dialog.problems[1:] == [
        "the response to GET /a is lost in unreadable bytes",
        "client byte 28 at 2.000000: read again from this request on (0 client and 2 server"
        " octets skipped)"]


def test_no_resync_when_the_next_request_came_before_the_answer_to_the_bad_bytes() -> None:
    dialog = observe(segments([  # which response answers /c is unknown: nothing more read
        (True, GET_A), (False, OK_A),
        (True, b"\x00\x01 hello\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n"),
        (False, BAD_REQUEST + OK_A), (True, GET_A), (False, OK_A)]))
    assert dialog.labels() == ["GET", "200", "body", "unreadable"]
    assert dialog.problems[1:] == ["client byte 40 at 2.000000: a request sent before the server"
                                   " answered the unreadable bytes: the rest is not read"]


def test_a_truncated_capture_says_what_is_missing() -> None:
    dialog = observe(segments([
        (True, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"),
        (False, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")]))
    assert dialog.labels() == ["GET", "200", "body"]
    assert dialog.http == [HttpExchange("GET", "/a", 200, 0, 5)]
    assert dialog.problems == [
        "server byte 45 at 1.000000: the capture ends: peer closed connection without sending"
        " complete message body (received 5 bytes, expected 100)",
        "client byte 28 at 0.000000: 28 octets of pipelined requests not read (a response is"
        " missing)"]


def test_a_switch_to_another_protocol_ends_the_http_part() -> None:
    dialog = observe(segments([
        (True, b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
               b"Connection: Upgrade\r\n\r\n"),
        (False, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\n\r\n\x81\x05hello"),
        (True, b"\x81\x85abcd0123")]))
    assert dialog.labels() == ["GET", "101"]
    assert dialog.http == [HttpExchange("GET", "/ws", 101, 0, 0)]
    assert dialog.problems == [
        "client byte 70 at 2.000000: 10 octets after the switch to another protocol",
        "server byte 77 at 1.000000: 7 octets after the switch to another protocol"]


def test_tls_from_the_first_byte() -> None:
    dialog = observe(segments([(True, b"\x16\x03\x01\x00\x10\x01hello"),
                               (False, b"\x16\x03\x03")]))
    assert dialog.labels() == ["TLS"] and dialog.tls_from == 0.0


@settings(max_examples=300, deadline=None)
@given(mangled(KEEP_ALIVE))
def test_random_input_never_raises(conversation: list[Segment]) -> None:
    dialog = observe(conversation)
    assert len(dialog.http) == sum(1 for step in dialog.steps if step.kind == COMMAND)
    assert all(len(step.data) <= KEPT_BODY for step in dialog.steps if step.kind == PAYLOAD)


# -- real traffic: curl and httpx against a small HTTP/1.1 server, tshark as the oracle
HOST = TEST_PLAN.address("receiver-mta", TEST_PLAN.shared_network("receiver-ua", "receiver-mta"))
BIG = b"ketchup " * 20_000  # over KEPT_BODY


class _Webmail(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def do_GET(self) -> None:
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in (b"Do you ", b"like ketchup?"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
            return
        body = BIG if self.path == "/big" else b"inbox of bob"
        self.send_response(200 if self.path != "/missing" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        received = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(201)
        self.send_header("Content-Length", str(len(received)))
        self.end_headers()
        self.wfile.write(received)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def webmail() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer((HOST, 0), _Webmail)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


def tshark_exchanges(pcap: Path, port: int) -> tuple[list[tuple[str, str]], list[int]]:
    """(method, target) of every request and the code of every response, per tshark."""
    decode = f"tcp.port=={port},http"
    requests = [(method, uri) for method, uri in tshark_fields(
        pcap, decode, "http.request.method", "http.request.uri")]
    codes = [int(row[0]) for row in tshark_fields(pcap, decode, "http.response.code")]
    return requests, codes


def test_curl_and_httpx_read_as_tshark_reads_them(webmail: int, tmp_path: Path) -> None:
    pcap, base = tmp_path / "http.pcap", f"http://{HOST}:{webmail}"
    with capturing(pcap, HOST, webmail):
        done = run(["curl", "-sS", "-o", "/dev/null", f"{base}/inbox", "-o", "/dev/null",
                    f"{base}/chunked", "-o", "/dev/null", f"{base}/big"])
        assert done.returncode == 0, done.stderr
        with httpx.Client(base_url=base) as client:
            assert client.post("/send", content=b"Subject: hi\r\n\r\nketchup").status_code == 201
            assert client.get("/missing").status_code == 404
    dialogs = [observe(conversation) for conversation in tcp_conversations(pcap, webmail)]
    assert [d.http for d in dialogs] == [
        [HttpExchange("GET", "/inbox", 200, 0, 12), HttpExchange("GET", "/chunked", 200, 0, 20),
         HttpExchange("GET", "/big", 200, 0, len(BIG))],
        [HttpExchange("POST", "/send", 201, 22, 22), HttpExchange("GET", "/missing", 404, 0, 12)]]
    assert [d.problems for d in dialogs] == [[], []]
    assert dialogs[0].payloads() == [b"inbox of bob", b"Do you like ketchup?", BIG[:KEPT_BODY]]
    requests, codes = tshark_exchanges(pcap, webmail)
    assert requests == [(e.method, e.target) for d in dialogs for e in d.http]
    assert codes == [e.status for d in dialogs for e in d.http]


def test_after_a_loss_only_the_last_unfinished_line_is_kept() -> None:
    lost = LostBytes(start=50, server_offset=0, answered=None)
    for _ in range(1000):
        assert lost.client_bytes(b"x" * 99 + b"\n") is None
    assert lost.line == b"" and lost.client_bytes(b"GE") is None and lost.line == b"GE"
    assert lost.client_bytes(b"T / HTTP/1.1\r\nHost") == (100_050, b"GET / HTTP/1.1\r\nHost")
    assert not lost.safe_at(100_050)
    lost.server_bytes(10, client_received=100_000)
    assert lost.safe_at(100_050) and not lost.safe_at(99_999)

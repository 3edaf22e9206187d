# The local runtime end to end: the real role programs as processes on loopback,
# the controller, basic-delivery graded from the per-link pcaps. The lab is the test
# session's own instance, so a lab the user left up is neither disturbed nor in the way.
# The mail servers offer STARTTLS with the lab CA `up` made; nothing in the lab uses it
# unless a client (here swaks, smtplib, poplib) chooses TLS.
from __future__ import annotations

import poplib
import smtplib
import socket
import ssl
import subprocess
from collections.abc import Iterator
from email import message_from_string, policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from labctl import cli
from labctl.analysis.pcap_reader import read_capture
from labctl.backends.local import LocalBackend
from labctl.backends.select import choose_backend
from labctl.capture.relay import RELAY_COMMENT
from labctl.client import ControllerClient, ControllerError
from labctl.model import LAB, MGMT, Addressing, addressing
from labctl.model.zone import resolver_address
from labctl.tls_ca import CA_CERTIFICATE, client_context
from tests.conftest import DATA, PROJECT, TEST_INSTANCE
from tests.e2e.basic_delivery import (
    READING_SCENARIOS,
    assert_basic_delivery_report,
    assert_pcaps_readable,
    run_scenario,
)
from tests.e2e.imap_fetch import assert_imap_fetch_captured
from tests.e2e.local_labs import capture_modes, running_local_lab, wait_delivered
from tests.peers.tools import require_tool

pytestmark = pytest.mark.local


@pytest.fixture(scope="module", params=capture_modes())
def local_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalBackend]:
    with running_local_lab(tmp_path_factory.mktemp("maillab-local"), request.param) as lab:
        yield lab


@pytest.fixture(scope="module")
def local_lab(local_backend: LocalBackend) -> ControllerClient:
    return ControllerClient(local_backend.controller_url())


def test_basic_delivery_passes_with_smtp_smtp_pop3(local_lab: ControllerClient) -> None:
    report = run_scenario(local_lab, "basic-delivery")
    assert_basic_delivery_report(report, "local")
    assert_pcaps_readable(report, "local")
    assert all(Path(h["pcap"]).parent.parent.name == "captures" for h in report["hops"])
    relayed = [RELAY_COMMENT in read_capture(h["pcap"]).comments for h in report["hops"]]
    lab_mode = local_lab.request("GET", "/health")["capture_mode"]
    assert relayed == [lab_mode == "relay"] * len(relayed), "only relay recordings say so"
    lines = [line for h in report["hops"] for c in h["conversations"] for line in c["transcript"]]
    assert "S: 250-STARTTLS" in lines or "S: 250 STARTTLS" in lines, "the servers offer TLS"
    assert "C: STARTTLS" not in lines, "the relay and the user agents talk plaintext"


@pytest.mark.parametrize(("scenario", "alice", "bob"), READING_SCENARIOS)
def test_bob_reads_over_imap_and_http_and_alice_writes_in_her_webmail(
    local_lab: ControllerClient, scenario: str, alice: str, bob: str
) -> None:
    report = run_scenario(local_lab, scenario)
    assert_basic_delivery_report(report, "local", alice=alice, bob=bob)
    assert_pcaps_readable(report, "local")


def test_bob_fetches_over_imap_and_the_bob_lan_capture_shows_imap(
    local_lab: ControllerClient,
) -> None:
    assert_imap_fetch_captured(local_lab)


def test_malformed_api_body_gets_422_naming_the_field(local_lab: ControllerClient) -> None:
    with pytest.raises(ControllerError, match=r"422.*to"):
        local_lab.request("POST", "/messages", {"to": "not-an-address"})


def test_wrong_protocol_fails_naming_hop_expected_and_observed(local_lab: ControllerClient) -> None:
    scenario = DATA / "scenarios" / "expects-pop3-from-alice.yaml"
    body = {"scenario": scenario.read_text(), "source": scenario.name}
    report = local_lab.request("POST", "/runs", body)["report"]
    assert not report["passed"]
    assert report["checks"][0]["output"].startswith(
        "hop sender-ua -> sender-mta: expected POP3, observed SMTP"
    )


def _plan() -> Addressing:
    return addressing("local", instance=TEST_INSTANCE)


@pytest.mark.parametrize(("body", "field"), [
    ({"to": "bob@hamburger.edu", "headers": {"X-A": "a\r\nBcc: carol@crepes.fr"}}, "X-A"),
    ({"to": "bøb@hamburger.edu"}, "to"),
    ({"to": "bob@hamburger.edu", "headers": {"": "x"}}, "headers"),
    ({"to": "bob@hamburger.edu", "subject": "\ud800"}, "subject"),
])
def test_bad_message_is_422_naming_the_field_and_the_next_one_is_delivered(
    local_lab: ControllerClient, body: dict[str, object], field: str
) -> None:
    with pytest.raises(ControllerError, match=rf"422.*{field}"):
        local_lab.request("POST", "/messages", body)
    sent = local_lab.request("POST", "/messages", {"to": "bob@hamburger.edu", "subject": field})
    assert sent["server_reply"].startswith("250")
    wait_delivered(local_lab, sent["message_id"])


@pytest.mark.parametrize("address", ["%00", "%0A", "%7F", "%ED%A0%80"])
def test_mailbox_path_that_is_no_address_is_422(local_lab: ControllerClient, address: str) -> None:
    with pytest.raises(ControllerError, match=r"422.*path\.address"):
        local_lab.request("GET", f"/servers/receiver-mta/mailboxes/{address}")
    assert isinstance(
        local_lab.request("GET", "/servers/receiver-mta/mailboxes/bob@hamburger.edu"), list)


def test_agents_admit_only_the_controller(local_lab: ControllerClient) -> None:
    plan = _plan()
    # what Alice's PC could try on the management network: read Bob's mailbox, make Bob fetch
    mailbox = httpx.get(plan.control_url("receiver-mta") + "/mailboxes/bob@hamburger.edu")
    fetch = httpx.post(plan.control_url("receiver-ua") + "/fetch", json={"protocol": "pop3"})
    forged = httpx.post(plan.control_url("sender-ua") + "/send", json={"to": "bob@hamburger.edu"},
                        headers={"Authorization": "Bearer guessed"})
    assert [mailbox.status_code, fetch.status_code, forged.status_code] == [401, 401, 403]
    assert httpx.get(plan.control_url("receiver-ua") + "/health").status_code == 200
    assert local_lab.request("GET", "/lab")["healthy"]


@pytest.mark.parametrize("service", ["smtp", "submission", "pop3", "imap"])
def test_mail_server_refuses_mail_on_its_management_address(
    local_lab: ControllerClient, service: str
) -> None:
    plan = _plan()
    for server in ("sender-mta", "receiver-mta"):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((plan.address(server, MGMT), plan.port(server, service)), 5)
        socket.create_connection((plan.lab_addresses(server)[0], plan.port(server, service)),
                                 5).close()


def test_labctl_send_attaches_files_that_bob_fetches_intact(
    local_lab: ControllerClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pdf, notes = tmp_path / "menu.pdf", tmp_path / "notes.txt"
    pdf.write_bytes(b"%PDF-1.4 \x00\xff\xfe")
    notes.write_text("ketchup, pickles\n")
    monkeypatch.setenv("MAILLAB_INSTANCE", TEST_INSTANCE.name)
    status = cli.main(["send", "--backend", "local", "--subject", "Menü", "--body", "Voilà\n",
                       "--attach", str(pdf), "--attach", str(notes)])
    assert status == 0
    message_id = capsys.readouterr().out.split()[0]
    wait_delivered(local_lab, message_id)
    fetched = local_lab.request("POST", "/fetches", {"delete": True})["messages"]
    [raw] = [m for m in fetched if message_id in m]
    message = message_from_string(raw, policy=policy.default)
    assert isinstance(message, EmailMessage) and message["Subject"] == "Menü"
    parts = [(p.get_filename(), p.get_content_type(), p.get_payload(decode=True))
             for p in message.iter_attachments()]
    assert parts == [("menu.pdf", "application/pdf", pdf.read_bytes()),
                     ("notes.txt", "text/plain", notes.read_bytes())]


def test_relay_asks_the_labs_dns_before_it_connects(local_lab: ControllerClient) -> None:
    if local_lab.request("GET", "/health")["capture_mode"] != "tcpdump":
        pytest.skip("relay recordings hold only the relayed TCP streams, not DNS over UDP")
    require_tool("tshark")
    scenario = PROJECT / "scenarios" / "basic-delivery.yaml"
    report = local_lab.request("POST", "/runs", {"scenario": scenario.read_text()})["report"]
    (internet,) = {h["pcap"] for h in report["hops"] if h["network"] == "internet"}
    dns_hops = [h for h in report["hops"] if (h["client_role"], h["server_role"]) == (
        "sender-mta", "dns")]
    assert [h["protocols"] for h in dns_hops] == [["DNS"]]  # the analyzer labels it too
    plan = _plan()
    sender, (dns_host, dns_port) = plan.address("sender-mta", "internet"), resolver_address(plan)
    asked_or_connected = f"ip.src == {sender} && (dns.flags.response == 0 || tcp.flags == 0x002)"
    answered = f"ip.dst == {sender} && dns.flags.response == 1"
    result = subprocess.run(
        ["tshark", "-r", internet, "-d", f"udp.port=={dns_port},dns",
         "-Y", f"({asked_or_connected}) || ({answered})",
         "-T", "fields", "-E", "separator=,", "-e", "ip.src", "-e", "ip.dst",
         "-e", "dns.qry.name", "-e", "dns.qry.type", "-e", "dns.a"],
        capture_output=True, text=True, timeout=60, check=True,
    )
    packets = [line.split(",") for line in result.stdout.splitlines()]
    receiver = plan.address("receiver-mta", "internet")
    assert packets[:3] == [
        [sender, dns_host, "hamburger.edu", "15", ""],  # MX
        # the answer brings the MX host's address (additional section): no A query
        [dns_host, sender, "hamburger.edu", "15", receiver],
        [sender, receiver, "", "", ""],  # then the SYN of the SMTP connection
    ], packets


def test_submission_starttls_verifies_with_the_lab_ca(local_backend: LocalBackend) -> None:
    plan, alice = _plan(), LAB.user("alice@crepes.fr")
    ca = local_backend.tls_dir / CA_CERTIFICATE
    result = subprocess.run(
        ["swaks", "--server", plan.lab_addresses("sender-mta")[0],
         "--port", str(plan.port("sender-mta", "submission")),
         "--tls", "--tls-verify", "--tls-ca-path", str(ca),
         "--auth", "PLAIN", "--auth-user", alice.address, "--auth-password", alice.password,
         "--from", alice.address, "--to", "bob@hamburger.edu", "--quit-after", "RCPT"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '=== TLS peer DN="/CN=mail.crepes.fr"' in result.stdout, result.stdout
    assert "<~  235 " in result.stdout, "AUTH ran inside TLS"


@pytest.mark.parametrize("service", ["smtp", "pop3"])
def test_receiver_starttls_names_its_host_for_the_lab_ca(
    local_backend: LocalBackend, service: str
) -> None:
    plan, context = _plan(), client_context(local_backend.tls_dir)
    host, port = plan.lab_addresses("receiver-mta")[0], plan.port("receiver-mta", service)
    if service == "smtp":
        with smtplib.SMTP(host, port, timeout=10) as client:
            client.ehlo("mallory.internet.test")
            assert client.has_extn("starttls")
            client.starttls(context=context)
            assert isinstance(client.sock, ssl.SSLSocket)
            peer = client.sock.getpeercert()
    else:
        pop = poplib.POP3(host, port, timeout=10)
        try:
            assert "STLS" in pop.capa()
            pop.stls(context=context)
            assert isinstance(pop.sock, ssl.SSLSocket)
            peer = pop.sock.getpeercert()
        finally:
            pop.quit()
    assert peer is not None and ("DNS", "mail.hamburger.edu") in peer["subjectAltName"]


def test_auto_backend_finds_the_local_lab_that_is_up(local_lab: ControllerClient) -> None:
    # with or without a Docker engine, commands after `up --backend local` reach this lab
    backend = choose_backend("auto", TEST_INSTANCE)
    assert isinstance(backend, LocalBackend) and backend.is_up()

# The compose runtime end to end, as `labctl up` runs it: the real images on internal
# networks, captures from the bridges, basic-delivery graded. The lab is the test
# session's own instance (project, bridges, subnets, controller port), so a lab the
# user left up is neither in the way nor disturbed. Hostile checks: from inside a
# role's container, nothing answers but the lab's own services on lab addresses.
from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import pytest

from labctl.backends.compose import ComposeBackend
from labctl.backends.host_firewall import firewall_tools, installed_rules, seal_host, unseal_host
from labctl.cli_programs import programs_for_run, run_body
from labctl.client import ControllerClient
from labctl.model import LAB, MGMT, addressing
from labctl.model.instance import INSTANCE_ENV
from labctl.model.zone import resolver_address
from labctl.scenarios import load_scenario
from tests.conftest import DATA, PROJECT, TEST_INSTANCE, second_test_instance
from tests.e2e.basic_delivery import (
    READING_SCENARIOS,
    assert_basic_delivery_report,
    assert_own_addresses_only,
    assert_pcaps_readable,
    run_scenario,
)
from tests.e2e.imap_fetch import assert_imap_fetch_captured

pytestmark = pytest.mark.compose
PLAN = addressing("compose", instance=TEST_INSTANCE)
CONNECT = (
    "import socket,sys\n"
    "try:\n socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()\n"
    "except OSError as e:\n print(type(e).__name__, e); sys.exit(1)\n"
)
CONNECT_LINK_LOCAL = (  # an IPv6 link-local address, through each of the container's links
    "import socket,sys\n"
    "for _, index in socket.if_nameindex():\n"
    " try:\n  s=socket.socket(socket.AF_INET6); s.settimeout(1)\n"
    "  s.connect((sys.argv[1], int(sys.argv[2]), 0, index)); sys.exit(0)\n"
    " except OSError: pass\n"
    "sys.exit(1)\n"
)
HTTP_GET = (
    "import sys,urllib.request as u,urllib.error as e\n"
    "r=u.Request(sys.argv[1], headers={'Authorization': 'Bearer '+sys.argv[2]})\n"
    "try:\n print(u.urlopen(r, timeout=5).status)\n"
    "except e.HTTPError as x:\n print(x.code)\n"
)


@pytest.fixture(scope="module")
def compose_lab(
    docker_engine: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ControllerClient]:
    captures = tmp_path_factory.mktemp("compose-captures")
    patch = pytest.MonkeyPatch()
    patch.setenv("MAILLAB_CAPTURES_DIR", str(captures))
    backend = ComposeBackend(PROJECT, TEST_INSTANCE, tmp_path_factory.mktemp("compose-state"))
    try:
        backend.up(print)
        yield ControllerClient(backend.controller_url())
    finally:
        backend.down(print)
        patch.undo()
    assert installed_rules(PLAN) == [], "labctl down removes the instance's firewall rules"


def _container(role: str) -> Any:
    return docker.from_env().containers.get(f"{TEST_INSTANCE.project_name}-{role}-1")


def _connects(role: str, host: str, port: int) -> bool:
    result = _container(role).exec_run(["python", "-c", CONNECT, host, str(port)])
    return bool(result.exit_code == 0)


def test_basic_delivery_passes_with_smtp_smtp_pop3(compose_lab: ControllerClient) -> None:
    report = run_scenario(compose_lab, "basic-delivery")
    assert_basic_delivery_report(report, "compose")
    assert_pcaps_readable(report, "compose")
    assert {Path(h["pcap"]).name for h in report["hops"]} == {
        "alice-lan.pcap", "internet.pcap", "bob-lan.pcap"
    }


@pytest.mark.parametrize(("scenario", "alice", "bob"), READING_SCENARIOS)
def test_bob_reads_over_imap_and_http_and_alice_writes_in_her_webmail(
    compose_lab: ControllerClient, scenario: str, alice: str, bob: str
) -> None:
    report = run_scenario(compose_lab, scenario)
    assert_basic_delivery_report(report, "compose", alice=alice, bob=bob)
    assert_pcaps_readable(report, "compose")


def test_bob_fetches_over_imap_and_the_bob_lan_capture_shows_imap(
    compose_lab: ControllerClient,
) -> None:
    assert_imap_fetch_captured(compose_lab)


def test_lab_networks_are_sealed(compose_lab: ControllerClient) -> None:
    client = docker.from_env()
    label = f"com.docker.compose.project={TEST_INSTANCE.project_name}"
    networks = client.networks.list(filters={"label": label})
    assert len(networks) == len(LAB.networks)
    for network in networks:
        assert network.attrs["Internal"] is True, network.name
    # Alice's PC reaches her server on alice-lan, and nothing beyond (here: the same
    # server's address on the internet network, a lab address).
    assert _connects("sender-ua", PLAN.address("sender-mta", "alice-lan"),
                     PLAN.port("sender-mta", "submission"))
    assert not _connects("sender-ua", PLAN.address("sender-mta", "internet"),
                         PLAN.port("sender-mta", "smtp")), "a packet left alice-lan"


@pytest.mark.parametrize("service", ["smtp", "submission", "pop3", "imap"])
def test_mail_servers_refuse_mail_on_their_management_address(
    compose_lab: ControllerClient, service: str
) -> None:
    for server in ("sender-mta", "receiver-mta"):
        port = PLAN.port(server, service)
        assert not _connects("sender-ua", PLAN.address(server, MGMT), port), (server, service)
        assert _connects(server, PLAN.lab_addresses(server)[0], port), (server, service)


def test_agents_answer_only_the_controller(compose_lab: ControllerClient) -> None:
    alice = _container("sender-ua")
    digest = alice.exec_run(["sh", "-c", "cat $MAILLAB_AGENT_DIGEST_FILE"]).output.decode()
    token_files = alice.exec_run(["sh", "-c", "ls /run/maillab/controller 2>&1"]).output
    assert b"No such file" in token_files, "the token is not in a role's container"
    mailbox = PLAN.control_url("receiver-mta") + "/mailboxes/bob@hamburger.edu"
    fetch = PLAN.control_url("receiver-ua") + "/health"
    for url, token, expected in ((mailbox, "", "401"), (mailbox, digest.strip(), "403"),
                                 (fetch, "", "200")):
        answer = alice.exec_run(["python", "-c", HTTP_GET, url, token]).output.decode().strip()
        assert answer == expected, (url, answer)
    raw = alice.exec_run(["python", "-c", "import socket; socket.socket(socket.AF_PACKET, "
                          "socket.SOCK_RAW)"]).output
    assert b"PermissionError" in raw, "no raw socket to sniff or forge the management network"
    box = compose_lab.request("GET", "/servers/receiver-mta/mailboxes/bob@hamburger.edu")
    assert isinstance(box, list), "the controller itself is admitted"


def _host_addresses(family: str, device: str | None = None) -> list[str]:
    command = ["ip", "-j", family, "addr", *(["show", "dev", device] if device else [])]
    listing = json.loads(subprocess.run(command, capture_output=True, text=True,
                                        check=True).stdout or "[]")
    return [a["local"] for link in listing for a in link.get("addr_info", [])
            if not a["local"].startswith("127.") and a["local"] != "::1"]


def test_no_container_can_connect_to_the_host(compose_lab: ControllerClient) -> None:
    if "iptables" not in firewall_tools():
        pytest.skip("sealing the host needs root and iptables")
    for network in LAB.captured_networks():  # a lab bridge has no host IPv4 address at all
        assert _host_addresses("-4", PLAN.bridge(network)) == [], network.name
    assert {rule[2] for rule in installed_rules(PLAN)} == {PLAN.bridge(n) for n in LAB.networks}
    listener = socket.create_server(("::", 0), family=socket.AF_INET6, dualstack_ipv6=True)
    port = listener.getsockname()[1]
    link_local = [a for n in LAB.networks for a in _host_addresses("-6", PLAN.bridge(n))]
    try:
        addresses = _host_addresses("-4")
        assert PLAN.gateway(MGMT) in addresses  # the controller's side of the management net
        unseal_host(PLAN)  # the probe's power: without the rules, the host answers on mgmt
        try:
            assert _connects("sender-ua", PLAN.gateway(MGMT), port)
        finally:
            seal_host(PLAN, print)
        for role in LAB.roles:
            reached = [a for a in addresses if _connects(role.name, a, port)]
            reached += [a for a in link_local if _container(role.name).exec_run(
                ["python", "-c", CONNECT_LINK_LOCAL, a, str(port)]).exit_code == 0]
            assert reached == [], f"{role.name} reached the host at {reached}"
    finally:
        listener.close()


def test_wrong_protocol_fails_naming_hop_expected_and_observed(
    compose_lab: ControllerClient,
) -> None:
    scenario = DATA / "scenarios" / "expects-pop3-from-alice.yaml"
    body = {"scenario": scenario.read_text(), "source": scenario.name}
    report = compose_lab.request("POST", "/runs", body)["report"]
    assert not report["passed"] and report["score"] == 0
    (check,) = report["checks"]
    assert check["output"].startswith("hop sender-ua -> sender-mta: expected POP3, observed SMTP")


def test_telnet_demo_through_labctl_shell_mallory_lands_in_bobs_mailbox(
    compose_lab: ControllerClient,
) -> None:
    # mallory resolves mail.hamburger.edu through the lab's DNS and types the lecture's
    # dialog into telnet (stdin is no terminal: the shell runs the script given there).
    script = (DATA / "telnet-demo.sh").read_text()
    result = subprocess.run(
        [sys.executable, "-m", "labctl.cli", "--backend", "compose", "shell", "mallory"],
        input=script, capture_output=True, text=True, timeout=120,
        env={**os.environ, INSTANCE_ENV: TEST_INSTANCE.name},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Connected to mail.hamburger.edu." in result.stdout
    assert result.stdout.splitlines()[-1] == "S: 221 2.0.0 Bye"
    mailbox = compose_lab.request("GET", "/servers/receiver-mta/mailboxes/bob@hamburger.edu")
    assert "telnet demo" in [m["subject"] for m in mailbox]


def test_mallory_has_the_tools_and_asks_only_the_labs_dns(compose_lab: ControllerClient) -> None:
    mallory = _container("mallory")
    tools = mallory.exec_run(["sh", "-c", "for t in telnet nc swaks curl s-nail dig; do "
                                            "command -v $t || exit 1; done"])
    assert tools.exit_code == 0 and len(tools.output.split()) == 6, tools.output
    mx = mallory.exec_run(["dig", "+short", "hamburger.edu", "MX"])
    assert mx.output.decode().strip() == "10 mail.hamburger.edu."
    lab_dns = resolver_address(addressing("compose", instance=TEST_INSTANCE))[0]
    outside = mallory.exec_run(["dig", f"@{lab_dns}", "www.example.com", "A"])
    assert b"status: REFUSED" in outside.output, outside.output


def test_mallory_starttls_to_bob_server_verifies_with_the_copied_lab_ca(
    compose_lab: ControllerClient, tmp_path: Path,
) -> None:
    # the README's way out for the lab CA, then into mallory's /tmp for swaks
    compose_file = ComposeBackend(PROJECT, TEST_INSTANCE, tmp_path).compose_file()
    subprocess.run(["docker", "compose", "-f", str(compose_file), "-p",
                    TEST_INSTANCE.project_name, "cp", "receiver-mta:/run/maillab/tls/ca.pem",
                    str(tmp_path / "ca.pem")], check=True, capture_output=True, timeout=60)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        tar.add(tmp_path / "ca.pem", arcname="lab-ca.pem")
    mallory = _container("mallory")
    assert mallory.put_archive("/tmp", archive.getvalue())
    result = mallory.exec_run(["swaks", "--server", "mail.hamburger.edu", "--port", "25",
                               "--tls", "--tls-verify", "--tls-ca-path", "/tmp/lab-ca.pem",
                               "--quit-after", "HELO"])
    output = result.output.decode()
    assert result.exit_code == 0, output
    assert '=== TLS peer DN="/CN=mail.hamburger.edu"' in output, output
    assert " ~> EHLO " in output, "the dialog went on inside TLS"


def test_a_second_compose_lab_runs_and_grades_beside_the_first(
    compose_lab: ControllerClient, tmp_path_factory: pytest.TempPathFactory,
) -> None:
    second = second_test_instance()
    patch = pytest.MonkeyPatch()
    patch.setenv("MAILLAB_CAPTURES_DIR", str(tmp_path_factory.mktemp("second-captures")))
    backend = ComposeBackend(PROJECT, second, tmp_path_factory.mktemp("second-state"))
    try:
        backend.up(print)
        controllers = [compose_lab, ControllerClient(backend.controller_url())]
        with ThreadPoolExecutor(2) as pool:
            reports = list(pool.map(lambda c: run_scenario(c, "basic-delivery"), controllers))
    finally:
        backend.down(print)
        patch.undo()
    assert installed_rules(addressing("compose", instance=second)) == []
    assert_own_addresses_only(reports[0], "compose", TEST_INSTANCE, second)
    assert_own_addresses_only(reports[1], "compose", second, TEST_INSTANCE)
    for report in reports:
        assert_basic_delivery_report(report, "compose")


@pytest.mark.parametrize(("roles", "losing"), [
    ([], set()),  # the scenario's reference program
    (["sender-ua=python3 client.py no-wait"], {"Each reply awaited before the next command"}),
])
def test_a_student_program_runs_in_its_roles_container_and_is_graded(
    compose_lab: ControllerClient, roles: list[str], losing: set[str]
) -> None:
    path = PROJECT / "scenarios" / "smtp-client.yaml"
    folder = DATA / "programs" / "faulty-smtp-client" if roles else None
    programs = programs_for_run(load_scenario(path), path, roles, folder)
    report = compose_lab.request("POST", "/runs", run_body(path, programs))
    checks = report["report"]["checks"]
    assert {c["name"] for c in checks if not c["passed"]} == losing, checks
    (program,) = report["report"]["programs"]
    assert (program["exit_status"], program["timed_out"]) == (0, False), program["output"]

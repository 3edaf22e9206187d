# The spoofing exercise end to end on the local runtime with MAILLAB_SPF=reject: the real
# programs (dns, mail servers, mallory's shell), in both recording modes. mallory's
# forged MAIL FROM:<alice@crepes.fr> is refused; Alice's own mail passes SPF.
from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from labctl.backends.local import LocalBackend
from labctl.client import ControllerClient
from labctl.model import addressing
from tests.conftest import DATA, TEST_INSTANCE, wait_for
from tests.e2e.local_labs import capture_modes, running_local_lab
from tests.peers.tools import require_tool

pytestmark = pytest.mark.local
BOB_MAILBOX = "/servers/receiver-mta/mailboxes/bob@hamburger.edu"
PLAN = addressing("local", instance=TEST_INSTANCE)


@pytest.fixture(scope="module", params=capture_modes())
def spf_lab(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBackend]:
    home = tmp_path_factory.mktemp("maillab-spf")
    with running_local_lab(home, request.param, {"MAILLAB_SPF": "reject"}) as lab:
        yield lab


def test_mallory_forging_alice_is_refused_with_550_5_7_23(spf_lab: LocalBackend) -> None:
    require_tool("telnet")
    shell = spf_lab.shell("mallory", interactive=False)
    result = subprocess.run(shell.argv, input=(DATA / "telnet-demo.sh").read_text(),
                            env={**os.environ, **shell.env}, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0, "the dialog must stop at the refusal"
    mallory = PLAN.address("mallory", "internet")
    assert "S: 550 5.7.23 SPF check failed: domain of alice@crepes.fr does not designate " \
           f"{mallory} as permitted sender" in result.stdout, result.stdout + result.stderr


def test_alices_mail_through_her_server_passes_spf(spf_lab: LocalBackend) -> None:
    controller = ControllerClient(spf_lab.controller_url())
    controller.request("POST", "/messages", {"to": "bob@hamburger.edu", "subject": "genuine"})
    wait_for(lambda: controller.request("GET", BOB_MAILBOX), "Alice's message did not arrive")
    (message,) = [m for m in controller.request("GET", BOB_MAILBOX) if m["subject"] == "genuine"]
    data = controller.text(f"{BOB_MAILBOX}/{message['id']}")
    return_path, _, rest = data.partition("\n")
    assert return_path.startswith("Return-Path: <alice@crepes.fr>")
    assert rest.startswith("Received-SPF: pass (mail.hamburger.edu: domain of alice@crepes.fr "
                           f"designates {PLAN.address('sender-mta', 'internet')} as permitted "
                           "sender)")

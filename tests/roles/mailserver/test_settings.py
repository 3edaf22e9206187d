# A mail server listens only on its lab-network addresses, in every runtime and
# instance: never 0.0.0.0 and never the management network, so all mail crosses a
# captured link.
from __future__ import annotations

from pathlib import Path

import pytest

from labctl.model import DEFAULT_INSTANCE, LAB, MGMT, LabInstance, addressing
from roles.mailserver.settings import MailServerSettings
from tests.conftest import TEST_INSTANCE


@pytest.mark.parametrize("runtime", ["compose", "local"])
@pytest.mark.parametrize("instance", [DEFAULT_INSTANCE, TEST_INSTANCE], ids=["default", "test"])
def test_mail_services_listen_on_lab_addresses_only(
    runtime: str, instance: LabInstance, tmp_path: Path
) -> None:
    plan = addressing(runtime, instance=instance)
    for role in LAB.mail_servers():
        settings = MailServerSettings.for_role(role.name, runtime, tmp_path, instance=instance)
        lab_addresses = {plan.address(role, n) for n in role.networks if n != MGMT}
        assert {listener.host for listener in settings.listeners} == lab_addresses
        assert {listener.service for listener in settings.listeners} == {
            "smtp", "submission", "pop3", "imap", "webmail"}
        assert settings.control_host == plan.address(role, MGMT)

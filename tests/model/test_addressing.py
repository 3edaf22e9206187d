# The addressing plans of both runtimes put each network on its own /24 and each role
# at the same host number everywhere, so captures and analysis agree on who is who.
from __future__ import annotations

import pytest

from labctl.model import LAB, MGMT, addressing


@pytest.mark.parametrize("runtime", ["compose", "local"])
def test_every_role_address_maps_back_to_its_role_and_network(runtime: str) -> None:
    plan = addressing(runtime)
    for role in LAB.roles:
        for network in role.networks:
            address = plan.address(role, network)
            assert plan.role_at(address) == (role.name, network)
            assert plan.network_of(address) == network


def test_local_runtime_lives_on_loopback_with_unprivileged_ports() -> None:
    plan = addressing("local")
    assert plan.address("sender-mta", "internet") == "127.77.2.25"
    assert plan.port("receiver-mta", "smtp") == 2525
    assert plan.port("receiver-mta", "pop3") == 1110


def test_compose_runtime_uses_the_standard_ports() -> None:
    plan = addressing("compose")
    assert [plan.port("sender-mta", s) for s in ("smtp", "submission", "pop3")] == [25, 587, 110]


def test_links_connect_roles_that_share_the_links_network() -> None:
    plan = addressing("compose")
    for link in LAB.links:
        assert plan.shared_network(link.client, link.server) == link.network


def test_unknown_names_are_errors_that_say_which_name() -> None:
    plan = addressing("compose")
    with pytest.raises(KeyError, match="trudy"):
        plan.address("trudy", "internet")
    with pytest.raises(KeyError, match="not on network"):
        plan.address("sender-ua", "bob-lan")
    assert MGMT in LAB.role("sender-ua").networks


def test_only_lab_domains_have_a_mail_server() -> None:
    assert LAB.mail_server_for("hamburger.edu") is LAB.role("receiver-mta")
    assert LAB.mail_server_for("example.com") is None

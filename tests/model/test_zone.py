# The lab zone is derived from the model and the addressing plan: MX, A and SPF TXT for
# both mail domains at the runtime's internet-side addresses, and nothing more.
from __future__ import annotations

import pytest

from labctl.model import LAB, addressing
from labctl.model.zone import SPF_POLICY, lab_zone, resolver_address


@pytest.mark.parametrize("runtime", ["compose", "local"])
def test_each_mail_domain_has_mx_spf_and_the_mx_hosts_internet_address(runtime: str) -> None:
    plan = addressing(runtime)
    zone = lab_zone(plan)
    for server in LAB.mail_servers():
        assert server.domain is not None
        (mx,) = zone.lookup(server.domain, "MX")
        assert mx.data == f"10 {server.hostname}."
        (a,) = zone.lookup(server.hostname, "A")
        assert a.data == plan.address(server, "internet")
        (txt,) = zone.lookup(server.domain, "TXT")
        assert txt.data == f'"{SPF_POLICY}"' == '"v=spf1 mx -all"'


def test_compose_and_local_differ_only_in_addresses() -> None:
    compose, local = lab_zone(addressing("compose")), lab_zone(addressing("local"))
    assert compose.lookup("mail.hamburger.edu", "A")[0].data == "198.18.2.26"
    assert local.lookup("mail.hamburger.edu", "A")[0].data == "127.77.2.26"
    assert [(r.name, r.rtype) for r in compose.records] == [
        (r.name, r.rtype) for r in local.records]


def test_lan_only_hosts_are_not_published_and_outsiders_have_their_own_zone() -> None:
    zone = lab_zone(addressing("compose"))
    assert not zone.exists("alice-pc.crepes.fr") and not zone.exists("bob-pc.hamburger.edu")
    assert zone.origins == ("crepes.fr", "hamburger.edu", "internet.test")
    assert zone.lookup("mallory.internet.test", "A")[0].data == "198.18.2.66"
    assert zone.lookup("internet.test", "MX") == ()


def test_names_are_matched_without_case_or_final_dot() -> None:
    zone = lab_zone(addressing("compose"))
    assert zone.origin_of("MAIL.Hamburger.EDU.") == "hamburger.edu"
    assert zone.origin_of("hamburger.edu.evil.test") is None
    assert zone.origin_of("gmail.com") is None
    assert zone.lookup("Hamburger.Edu.", "MX") == zone.lookup("hamburger.edu", "MX")


def test_zone_text_has_one_block_per_zone_each_record_once() -> None:
    zone = lab_zone(addressing("compose"))
    text = zone.text()
    assert text.count("; zone ") == 3
    lines = [line for line in text.splitlines() if line and not line.startswith(";")]
    assert len(lines) == len(set(lines)) == len(zone.records)
    assert "hamburger.edu.\t300\tIN\tMX\t10 mail.hamburger.edu." in lines


def test_the_resolver_is_the_dns_role_on_the_internet_network() -> None:
    assert resolver_address(addressing("compose")) == ("198.18.2.53", 53)
    assert resolver_address(addressing("local")) == ("127.77.2.53", 5053)

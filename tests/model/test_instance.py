# Lab instances: the default one is the lab the README describes, and any other
# name gets its own project, bridges, subnets, controller port and state folder,
# none of which another instance (the default above all) uses.
from __future__ import annotations

import ipaddress

import pytest

from labctl.model import DEFAULT_INSTANCE, LAB, InstanceError, LabInstance, addressing
from labctl.model.compose_file import compose_document
from labctl.model.instance import current_instance


def test_default_instance_is_the_lab_of_the_readme() -> None:
    compose, local = addressing("compose"), addressing("local")
    assert compose.instance == DEFAULT_INSTANCE == LabInstance.named("maillab")
    assert compose.subnet("alice-lan") == "198.18.1.0/24"
    assert compose.address("receiver-mta", "mgmt") == "198.18.0.26"
    assert local.address("sender-mta", "internet") == "127.77.2.25"
    assert [compose.bridge(n) for n in LAB.networks] == ["ml-alice", "ml-inet", "ml-bob", "ml-mgmt"]
    assert (compose.controller_url(), local.controller_url()) == (
        "http://127.0.0.1:8025", "http://127.0.0.1:8026")
    assert DEFAULT_INSTANCE.state_folder == "local"
    assert compose_document()["name"] == "maillab"


def _subnets(instance: LabInstance) -> set[ipaddress.IPv4Network]:
    return {
        ipaddress.ip_network(addressing(runtime, instance=instance).subnet(network))
        for runtime in ("compose", "local") for network in LAB.networks
    }


@pytest.mark.parametrize("name", ["test-1f2e3d4c", "class-a", "x", "z" * 40])
def test_a_named_instance_shares_nothing_with_the_default(name: str) -> None:
    instance = LabInstance.named(name)
    assert 1 <= instance.slot < 128 and instance == LabInstance.named(name)
    assert not _subnets(instance) & _subnets(DEFAULT_INSTANCE)
    compose = addressing("compose", instance=instance)
    local = addressing("local", instance=instance)
    bridges = {compose.bridge(n) for n in LAB.networks}
    assert all(len(b) <= 15 for b in bridges) and not bridges & {n.bridge for n in LAB.networks}
    ports = {compose.controller_port, local.controller_port}
    assert len(ports) == 2 and all(20000 <= p < 32768 for p in ports)
    assert instance.state_folder != DEFAULT_INSTANCE.state_folder
    for role in LAB.roles:  # the analyzer maps the instance's own addresses back to roles
        for network in role.networks:
            assert local.role_at(local.address(role, network)) == (role.name, network)
            assert addressing("local").role_at(local.address(role, network)) is None


def test_two_instances_in_neighbouring_slots_do_not_overlap() -> None:
    neighbours = [LabInstance(f"n{slot}", slot) for slot in (63, 64, 65, 127)]
    seen: set[ipaddress.IPv4Network] = set()
    for instance in neighbours:
        subnets = _subnets(instance)
        assert not subnets & seen, instance
        seen |= subnets


def test_an_instance_compose_file_uses_its_own_project_bridges_subnets_and_port() -> None:
    instance = LabInstance.named("class-a")
    plan = addressing("compose", instance=instance)
    document = compose_document(instance=instance, context="/somewhere/maillab")
    assert document["name"] == "class-a"
    for name, network in document["networks"].items():
        assert network["driver_opts"]["com.docker.network.bridge.name"] == plan.bridge(name)
        assert network["ipam"]["config"][0]["subnet"] == plan.subnet(name)
    controller = document["services"]["controller"]
    assert controller["environment"]["MAILLAB_PORT"] == str(plan.controller_port)
    assert controller["environment"]["MAILLAB_INSTANCE"] == "class-a"
    assert controller["build"]["context"] == "/somewhere/maillab"
    ua = document["services"]["sender-ua"]
    assert ua["environment"]["MAILLAB_INSTANCE"] == "class-a"
    assert ua["networks"]["alice-lan"]["ipv4_address"] == plan.address("sender-ua", "alice-lan")


@pytest.mark.parametrize("name", ["", "Maillab", "-x", "a b", "a_b", "é", "y" * 41])
def test_a_bad_instance_name_is_refused_saying_what_names_may_be(name: str) -> None:
    with pytest.raises(InstanceError, match="lowercase letters"):
        LabInstance.named(name)


def test_the_environment_names_the_instance() -> None:
    assert current_instance({}) == DEFAULT_INSTANCE
    assert current_instance({"MAILLAB_INSTANCE": "class-a"}) == LabInstance.named("class-a")

# compose.yaml is the lab model's rendering: the committed file must equal it, and
# the rendering must keep the lab sealed and its bridges named.
from __future__ import annotations

import yaml

from labctl.model import LAB, LabInstance, addressing
from labctl.model.compose_file import compose_document, render_compose_file
from tests.conftest import PROJECT


def test_committed_compose_file_is_the_models_rendering() -> None:
    committed = (PROJECT / "compose.yaml").read_text()
    assert committed == render_compose_file(), "run: labctl compose-file > compose.yaml"


def test_every_network_is_internal_with_a_named_bridge_of_at_most_15_chars() -> None:
    networks = compose_document()["networks"]
    assert set(networks) == {n.name for n in LAB.networks}
    for name, network in networks.items():
        assert network["internal"] is True, name
        bridge = network["driver_opts"]["com.docker.network.bridge.name"]
        assert bridge == LAB.network(name).bridge and len(bridge) <= 15


def test_roles_get_the_models_addresses_on_exactly_their_networks() -> None:
    plan = addressing("compose")
    services = compose_document()["services"]
    for role in LAB.roles:
        networks = services[role.name]["networks"]
        assert set(networks) == set(role.networks)
        for network, settings in networks.items():
            assert settings["ipv4_address"] == plan.address(role, network)


def test_controller_captures_from_outside_the_roles_with_only_net_raw() -> None:
    controller = compose_document()["services"]["controller"]
    assert controller["network_mode"] == "host"
    assert controller["cap_add"] == ["NET_RAW"]
    assert "privileged" not in controller


def test_rendering_is_valid_yaml_with_a_base_image_build_argument() -> None:
    document = yaml.safe_load(render_compose_file())
    args = document["services"]["controller"]["build"]["args"]
    assert all("build" not in document["services"][r.name] for r in LAB.roles)  # built once
    assert args["BASE_IMAGE"].startswith("${MAILLAB_BASE_IMAGE:-python:3.11")


def test_each_role_knows_its_neighbours_by_name_at_their_lab_addresses() -> None:
    services = compose_document()["services"]
    assert services["sender-ua"]["extra_hosts"] == ["mail.crepes.fr:198.18.1.25"]
    assert services["sender-mta"]["extra_hosts"] == ["alice-pc.crepes.fr:198.18.1.10"]
    assert services["receiver-ua"]["extra_hosts"] == ["mail.hamburger.edu:198.18.3.26"]


def test_lab_bridges_have_no_host_address_so_containers_cannot_reach_the_host() -> None:
    networks = compose_document()["networks"]
    for network in LAB.networks:
        inhibited = networks[network.name]["driver_opts"].get(
            "com.docker.network.bridge.inhibit_ipv4")
        # the controller reaches the agents over mgmt from the host, so only mgmt keeps one
        assert inhibited == ("true" if network.captured else None), network.name


def test_only_the_controller_mounts_the_lab_token_the_roles_only_its_digest() -> None:
    services = compose_document()["services"]
    secret = services["lab-secret"]
    assert secret["network_mode"] == "none"
    token_volume, digest_volume = (v.split(":")[0] for v in secret["volumes"])
    controller = services["controller"]
    assert f"{token_volume}:/run/maillab/controller:ro" in controller["volumes"]
    token_file = controller["environment"]["MAILLAB_AGENT_TOKEN_FILE"]
    assert token_file.startswith("/run/maillab/controller/")
    for role in LAB.roles:
        service = services[role.name]
        mounted = [v.split(":")[0] for v in service["volumes"]]
        assert token_volume not in mounted and digest_volume in mounted, role.name
        assert f"{digest_volume}:/run/maillab/agent:ro" in service["volumes"]
        assert service["environment"]["MAILLAB_AGENT_DIGEST_FILE"].startswith("/run/maillab/agent/")
        assert service["depends_on"]["lab-secret"] == {
            "condition": "service_completed_successfully"}


def test_roles_cannot_open_raw_sockets_to_sniff_or_spoof_the_management_network() -> None:
    services = compose_document()["services"]
    for role in LAB.roles:
        assert services[role.name]["cap_drop"] == ["NET_RAW"], role.name


def test_roles_on_the_internet_resolve_names_through_the_labs_dns_only() -> None:
    services = compose_document()["services"]
    on_internet = {r.name for r in LAB.roles if "internet" in r.networks}
    assert on_internet == {"sender-mta", "receiver-mta", "dns", "mallory"}
    for role in LAB.roles:
        expected = ["198.18.2.53"] if role.name in on_internet else None
        assert services[role.name].get("dns") == expected, role.name
    assert "extra_hosts" not in services["mallory"]  # mail.hamburger.edu comes from the DNS
    assert services["dns"]["command"][:4] == ["python", "-m", "roles.dns", "--role"]
    assert services["mallory"]["healthcheck"]["test"][-1] == "mallory"


def test_mail_servers_take_the_lab_options_from_the_environment_of_labctl_up() -> None:
    services = compose_document()["services"]
    for role in LAB.mail_servers():
        assert services[role.name]["environment"]["MAILLAB_SPF"] == "${MAILLAB_SPF:-off}"
    assert "MAILLAB_SPF" not in services["mallory"]["environment"]


def test_lab_tls_hands_each_mail_server_its_own_tls_volume_and_keeps_the_ca_key() -> None:
    instance = LabInstance.named("class-a")
    services = compose_document(instance=instance)["services"]
    tls = services["lab-tls"]
    assert tls["network_mode"] == "none"
    assert tls["environment"]["MAILLAB_INSTANCE"] == "class-a"  # names the instance's addresses
    ca_volume, *server_volumes = (v.split(":")[0] for v in tls["volumes"])
    assert tls["command"][:3] == ["python", "-m", "labctl.tls_ca"]
    assert server_volumes == [f"{r.name}-tls" for r in LAB.mail_servers()]
    for role in LAB.roles:
        service = services[role.name]
        mounted = [v.split(":")[0] for v in service["volumes"]]
        assert ca_volume not in mounted, f"the CA key is in {role.name}"
        if role in LAB.mail_servers():
            own = f"{role.name}-tls:/run/maillab/tls:ro"
            assert own in service["volumes"], role.name
            assert [m for m in mounted if m.endswith("-tls")] == [f"{role.name}-tls"]
            assert service["command"][-2:] == ["--tls-dir", "/run/maillab/tls"]
            assert service["depends_on"]["lab-tls"] == {
                "condition": "service_completed_successfully"}
            assert f"{role.name}-tls:/run/maillab/tls/{role.name}" in tls["volumes"]
        else:
            assert "--tls-dir" not in service["command"], role.name

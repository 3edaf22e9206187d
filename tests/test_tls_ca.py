# The lab CA: made once per TLS folder, server certificates chain to it and name the
# host and its lab addresses; a changed address list gets a new certificate. Compose's
# lab-tls step hands each mail server a folder of its own without the CA key, where the
# server finds its certificate and writes nothing.
from __future__ import annotations

import ipaddress
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography import x509

from labctl.model import LabInstance, addressing
from labctl.tls_ca import CA_CERTIFICATE, CA_KEY, client_context, main, server_certificate
from roles.mailserver.settings import MailServerSettings

CREPES = ("mail.crepes.fr", ["127.77.1.25", "127.77.2.25"])
HAMBURGER = ("mail.hamburger.edu", ["127.77.2.26", "127.77.3.26"])


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_certificates_chain_to_one_lab_ca(tmp_path: Path) -> None:
    crepes = server_certificate(tmp_path, *CREPES)
    ca_pem = (tmp_path / CA_CERTIFICATE).read_bytes()
    hamburger = server_certificate(tmp_path, *HAMBURGER)
    assert (tmp_path / CA_CERTIFICATE).read_bytes() == ca_pem
    ca = load(tmp_path / CA_CERTIFICATE)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for cert_files, (hostname, addresses) in ((crepes, CREPES), (hamburger, HAMBURGER)):
        cert = load(cert_files.certificate)
        cert.verify_directly_issued_by(ca)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert names.get_values_for_type(x509.DNSName) == [hostname]
        assert names.get_values_for_type(x509.IPAddress) == [
            ipaddress.ip_address(a) for a in addresses]
        assert oct(cert_files.key.stat().st_mode & 0o777) == "0o600"
        cert_files.server_context()
    client_context(tmp_path)


def test_certificate_is_reused_until_its_names_change(tmp_path: Path) -> None:
    first = server_certificate(tmp_path, *CREPES).certificate.read_bytes()
    assert server_certificate(tmp_path, *CREPES).certificate.read_bytes() == first
    moved = server_certificate(tmp_path, CREPES[0], ["198.18.1.25"]).certificate.read_bytes()
    assert moved != first
    assert load(tmp_path / "mail.crepes.fr.pem").issuer == load(tmp_path / CA_CERTIFICATE).subject


def test_servers_starting_together_agree_on_one_ca(tmp_path: Path) -> None:
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda spec: server_certificate(tmp_path, *spec),
                                [CREPES, HAMBURGER] * 2))
    ca = load(tmp_path / CA_CERTIFICATE)
    for result in results:
        load(result.certificate).verify_directly_issued_by(ca)


def test_lab_tls_hands_each_mail_server_its_own_files_and_never_the_ca_key(
    tmp_path: Path, in_test_instance: LabInstance,
) -> None:
    ca_dir, servers = tmp_path / "ca", tmp_path / "servers"
    assert main(["--ca-dir", str(ca_dir), "--servers-dir", str(servers)]) == 0
    ca = load(ca_dir / CA_CERTIFICATE)
    for role in ("sender-mta", "receiver-mta"):
        settings = MailServerSettings.for_role(role, "compose", tmp_path, tls_dir=servers / role)
        hostname = settings.hostname
        assert sorted(p.name for p in (servers / role).iterdir()) == sorted(
            [CA_CERTIFICATE, f"{hostname}.key", f"{hostname}.pem"])
        assert (servers / role / CA_CERTIFICATE).read_bytes() == (
            ca_dir / CA_CERTIFICATE).read_bytes()
        # what the server does at start: its certificate is there, nothing is written
        found = server_certificate(servers / role, hostname, settings.lab_addresses)
        assert found.certificate == servers / role / f"{hostname}.pem"
        assert not (servers / role / ".lock").exists()
        cert = load(found.certificate)
        cert.verify_directly_issued_by(ca)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        plan = addressing("compose", instance=in_test_instance)
        assert [str(a) for a in names.get_values_for_type(x509.IPAddress)] == sorted(
            plan.lab_addresses(role))
        found.server_context()


def test_folder_without_ca_key_and_wrong_names_is_an_error_naming_it(tmp_path: Path) -> None:
    server_certificate(tmp_path, *CREPES)
    (tmp_path / CA_KEY).unlink()
    ca_pem = (tmp_path / CA_CERTIFICATE).read_bytes()
    with pytest.raises(ValueError, match=rf"{tmp_path}: no valid certificate mail.crepes.fr.pem"):
        server_certificate(tmp_path, CREPES[0], ["198.18.1.25"])
    assert (tmp_path / CA_CERTIFICATE).read_bytes() == ca_pem, "the lab CA is kept"


def test_certificate_of_another_ca_with_the_same_name_is_replaced(tmp_path: Path) -> None:
    old = server_certificate(tmp_path, *CREPES).certificate.read_bytes()
    (tmp_path / CA_CERTIFICATE).unlink()
    (tmp_path / CA_KEY).unlink()  # a new lab CA, same subject name
    new = server_certificate(tmp_path, *CREPES)
    assert new.certificate.read_bytes() != old
    load(new.certificate).verify_directly_issued_by(load(tmp_path / CA_CERTIFICATE))

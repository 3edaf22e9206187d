# The lab CA: made once per TLS folder, server certificates chain to it and name the
# host and its lab addresses; a changed address list gets a new certificate.
from __future__ import annotations

import ipaddress
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cryptography import x509

from labctl.tls_ca import CA_CERTIFICATE, client_context, server_certificate

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
    moved = server_certificate(tmp_path, CREPES[0], ["10.77.1.25"]).certificate.read_bytes()
    assert moved != first
    assert load(tmp_path / "mail.crepes.fr.pem").issuer == load(tmp_path / CA_CERTIFICATE).subject


def test_servers_starting_together_agree_on_one_ca(tmp_path: Path) -> None:
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda spec: server_certificate(tmp_path, *spec),
                                [CREPES, HAMBURGER] * 2))
    ca = load(tmp_path / CA_CERTIFICATE)
    for result in results:
        load(result.certificate).verify_directly_issued_by(ca)

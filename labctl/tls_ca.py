# The lab's own certificate authority and the mail servers' certificates (STARTTLS).
#
# One CA per lab lives in a TLS folder (a mail server's MailServerSettings.tls_dir):
# ca.pem (the certificate a client trusts) and ca.key. It is made the first time any
# role asks and reused afterwards, so every server certificate of the lab chains to
# it. Server certificates are <hostname>.pem/.key in the same folder, for the host
# name and the role's lab addresses as subjectAltNames. A file lock makes two servers
# starting at once agree on one CA; files appear atomically (write, then rename).
# A server whose certificate is already there (made by `labctl up`, or handed out by
# compose's one-shot lab-tls service into a read-only folder without the CA key) only
# reads it. `python -m labctl.tls_ca` is that service: the CA and every mail server's
# certificate from the lab model, each server's three files copied to a folder of its own.
from __future__ import annotations

import argparse
import datetime
import fcntl
import ipaddress
import os
import ssl
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from labctl.model import Addressing, Runtime, addressing, current_instance

CA_CERTIFICATE = "ca.pem"
CA_KEY = "ca.key"
CA_NAME = "maillab lab CA"
CA_DAYS = 3650
SERVER_DAYS = 825


@dataclass(frozen=True)
class ServerCertificate:
    """Where a server's certificate chain and private key are, and the CA they chain to."""

    certificate: Path
    key: Path
    ca_certificate: Path

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context presenting this certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certificate, self.key)
        return context


def client_context(tls_dir: Path) -> ssl.SSLContext:
    """A TLS client context that trusts the lab CA only and checks host names."""
    return ssl.create_default_context(cafile=str(tls_dir / CA_CERTIFICATE))


def server_certificate(tls_dir: Path, hostname: str, addresses: Sequence[str]) -> ServerCertificate:
    """The certificate for `hostname` (and `addresses`), made with the lab CA when missing."""
    names = _alt_names(hostname, addresses)
    cert_path, key_path = tls_dir / f"{hostname}.pem", tls_dir / f"{hostname}.key"
    ca_path = tls_dir / CA_CERTIFICATE
    if ca_path.exists() and _usable(cert_path, key_path, _load(ca_path), names):
        return ServerCertificate(cert_path, key_path, ca_path)  # nothing to write
    if ca_path.exists() and not (tls_dir / CA_KEY).exists():
        raise ValueError(f"{tls_dir}: no valid certificate {cert_path.name} of the lab CA for "
                         f"{hostname} {', '.join(addresses)}, and no CA key to make one "
                         "(bring the lab up again)")
    with _locked(tls_dir):
        ca_cert, ca_key = _lab_ca(tls_dir)
        if not _usable(cert_path, key_path, ca_cert, names):
            key = ec.generate_private_key(ec.SECP256R1())
            subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
            builder = _builder(subject, key.public_key(), ca_cert.subject, SERVER_DAYS)
            cert = _server_extensions(builder, names).sign(ca_key, hashes.SHA256())
            _write(key_path, _key_bytes(key), private=True)
            _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return ServerCertificate(cert_path, key_path, ca_path)


def lab_certificates(plan: Addressing, tls_dir: Path) -> dict[str, ServerCertificate]:
    """The lab CA in `tls_dir` and every mail server's certificate there, by role name."""
    return {role.name: server_certificate(tls_dir, role.hostname, plan.lab_addresses(role))
            for role in plan.lab.mail_servers()}


def hand_out(certificate: ServerCertificate, server_dir: Path) -> None:
    """Copy a server's certificate, its key and the CA certificate (not the CA key) there."""
    server_dir.mkdir(parents=True, exist_ok=True)
    for source in (certificate.certificate, certificate.ca_certificate):
        _write(server_dir / source.name, source.read_bytes())
    _write(server_dir / certificate.key.name, certificate.key.read_bytes(), private=True)


def _lab_ca(tls_dir: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = tls_dir / CA_CERTIFICATE, tls_dir / CA_KEY
    if cert_path.exists() and key_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_path}: the lab CA key is not an EC key")
        return _load(cert_path), key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    cert = (_builder(name, key.public_key(), name, CA_DAYS)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    _write(key_path, _key_bytes(key), private=True)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _builder(subject: x509.Name, public_key: ec.EllipticCurvePublicKey, issuer: x509.Name,
             days: int) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days)))


def _server_extensions(builder: x509.CertificateBuilder,
                       names: list[x509.GeneralName]) -> x509.CertificateBuilder:
    return (builder
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False))


def _alt_names(hostname: str, addresses: Sequence[str]) -> list[x509.GeneralName]:
    ips = sorted({ipaddress.ip_address(a) for a in addresses}, key=str)
    return [x509.DNSName(hostname), *(x509.IPAddress(ip) for ip in ips)]


def _usable(cert_path: Path, key_path: Path, ca_cert: x509.Certificate,
            names: list[x509.GeneralName]) -> bool:
    """True when the stored certificate is from this CA, for these names, and still valid."""
    if not (cert_path.exists() and key_path.exists()):
        return False
    cert = _load(cert_path)
    try:
        stored = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        cert.verify_directly_issued_by(ca_cert)
    except (x509.ExtensionNotFound, ValueError, TypeError, InvalidSignature):
        return False
    now = datetime.datetime.now(datetime.UTC)
    return list(stored) == names and cert.not_valid_after_utc > now + datetime.timedelta(days=1)


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _key_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes, private: bool = False) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


@contextmanager
def _locked(tls_dir: Path) -> Iterator[None]:
    tls_dir.mkdir(parents=True, exist_ok=True)
    with open(tls_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def main(argv: list[str] | None = None) -> int:
    """Make the lab CA and hand each mail server its files (compose's one-shot lab-tls)."""
    parser = argparse.ArgumentParser(prog="python -m labctl.tls_ca", description=__doc__)
    parser.add_argument("--ca-dir", type=Path, required=True,
                        help="the CA's folder (ca.pem, ca.key and every certificate)")
    parser.add_argument("--servers-dir", type=Path, required=True,
                        help="gets ROLE/ca.pem, ROLE/<hostname>.pem and .key per mail server")
    parser.add_argument("--runtime", default=Runtime.COMPOSE.value,
                        choices=[r.value for r in Runtime])
    args = parser.parse_args(argv)
    plan = addressing(args.runtime, instance=current_instance())
    for role, certificate in lab_certificates(plan, args.ca_dir).items():
        hand_out(certificate, args.servers_dir / role)
        print(f"{role}: {certificate.certificate.name} in {args.servers_dir / role}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The TLS that service containers connect back over: a CA of this server's own and its server certificate.

The clients' defaults are HTTPS on port 443 at `SNOWFLAKE_HOST`, and the tutorial's container code relies
on them, so `snowport up` also serves its endpoint with TLS where containers reach it. The CA is made once
and kept in the data dir (`<data>/tls/ca.pem`, `ca.key`, mode 0600); the server certificate
(`server.pem`, `server.key`) names the addresses containers use (an IP address SAN for the network's
gateway) and is issued again whenever they change, is about to expire, or the CA changed. Containers get
`<data>/tls/containers/ca-bundle.pem` (the CA, then the host's trusted roots, so other HTTPS hosts still
verify) mounted read-only at `/snowflake/tls`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# where containers find the bundle: a directory mount, so a rewritten bundle shows at once
CONTAINER_DIR = "/snowflake/tls"
BUNDLE_NAME = "ca-bundle.pem"
CONTAINER_BUNDLE = f"{CONTAINER_DIR}/{BUNDLE_NAME}"
# the host's trusted roots, appended to the containers' bundle (Debian's path, else OpenSSL's default file)
SYSTEM_BUNDLE = next((Path(p) for p in ("/etc/ssl/certs/ca-certificates.crt", ssl.get_default_verify_paths().cafile)
                      if p and os.path.isfile(p)), None)

CA_DAYS = 3650
SERVER_DAYS = 397
RENEW_BEFORE = dt.timedelta(days=30)  # a certificate this close to its end is issued again
CLOCK_SKEW = dt.timedelta(minutes=5)  # certificates start a little in the past


@dataclass(frozen=True)
class ServerTLS:
    """The files of one data dir's TLS: what the listener loads and what containers mount."""

    directory: Path
    host: str  # what containers put in SNOWFLAKE_HOST: a name or address the certificate covers

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server.key"

    @property
    def bundle_dir(self) -> Path:
        """Only public files: the host directory mounted read-only at CONTAINER_DIR."""
        return self.directory / "containers"

    @property
    def bundle(self) -> Path:
        return self.bundle_dir / BUNDLE_NAME


def ensure_tls(data_dir: Path, addresses: Sequence[str], names: Sequence[str] = (),
               system_bundle: Path | None = SYSTEM_BUNDLE, now: dt.datetime | None = None) -> ServerTLS:
    """Make (or reuse) the CA and a server certificate whose SANs are exactly `addresses` (IP) and `names`
    (DNS), and write the containers' CA bundle. The first address or name is the host containers use."""
    if not addresses and not names:
        raise ValueError("a server certificate needs at least one address or name")
    now = now or dt.datetime.now(dt.UTC)
    tls = ServerTLS(Path(data_dir) / "tls", str(names[0] if names else addresses[0]))
    tls.directory.mkdir(parents=True, exist_ok=True)
    tls.directory.chmod(0o700)
    ca_cert, ca_key = _load_pair(tls.ca_cert, tls.ca_key)
    fresh_ca = ca_cert is None or ca_cert.not_valid_after_utc - now < RENEW_BEFORE * 12
    if fresh_ca:
        ca_cert, ca_key = _new_ca(now)
        _write(tls.ca_key, _key_pem(ca_key), 0o600)
        _write(tls.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    assert ca_cert is not None and ca_key is not None
    sans = _sans(addresses, names)
    server_cert, _server_key = _load_pair(tls.server_cert, tls.server_key)
    if fresh_ca or server_cert is None or not _still_good(server_cert, ca_cert, sans, now):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _issue(ca_cert, ca_key, key, sans, now)
        _write(tls.server_key, _key_pem(key), 0o600)
        _write(tls.server_cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    tls.bundle_dir.mkdir(exist_ok=True)
    tls.bundle_dir.chmod(0o755)
    bundle = tls.ca_cert.read_bytes()
    if system_bundle is not None and system_bundle.is_file():
        bundle += b"\n" + system_bundle.read_bytes()
    if not tls.bundle.exists() or tls.bundle.read_bytes() != bundle:
        _write(tls.bundle, bundle, 0o644)
    return tls


def certificate_sans(path: Path) -> tuple[list[str], list[str]]:
    """(IP addresses, DNS names) a certificate file names."""
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(a) for a in san.get_values_for_type(x509.IPAddress)], san.get_values_for_type(x509.DNSName)


# ---------------------------------------------------------------------------------------------- internals

def _sans(addresses: Sequence[str], names: Sequence[str]) -> list[x509.GeneralName]:
    return [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses] + [x509.DNSName(n) for n in names]


def _load_pair(cert_path: Path, key_path: Path):
    """A certificate and its key, or (None, None) when either is missing, unreadable or they do not match."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None, None
    if cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) \
            != key.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo):
        return None, None
    return cert, key


def _still_good(cert: x509.Certificate, ca: x509.Certificate, sans: list[x509.GeneralName], now: dt.datetime) -> bool:
    if cert.not_valid_after_utc - now < RENEW_BEFORE or cert.not_valid_before_utc > now:
        return False
    if cert.issuer != ca.subject:
        return False
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    try:
        have = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return sorted(map(repr, have)) == sorted(map(repr, sans))


def _new_ca(now: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Snowport"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"Snowport local CA {os.urandom(4).hex()}")])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW).not_valid_after(now + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def _issue(ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, key: ec.EllipticCurvePrivateKey,
           sans: list[x509.GeneralName], now: dt.datetime) -> x509.Certificate:
    first = sans[0].value
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Snowport"),
                         x509.NameAttribute(NameOID.COMMON_NAME, str(first))])
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW).not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .sign(ca_key, hashes.SHA256()))


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes, mode: int) -> None:
    """Atomically, and created with `mode` from the start (a key is never readable by others, not even briefly)."""
    partial = path.with_name(path.name + ".new")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(partial, mode)  # the umask may have taken bits away
    partial.replace(path)

"""The TLS certificate of the SMTP server: the configured one, or a development one."""

import datetime
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEVELOPMENT_CERT_NAME = "smtp-dev-cert.pem"
DEVELOPMENT_KEY_NAME = "smtp-dev-key.pem"
DEVELOPMENT_CERT_DAYS = 365


def generate_self_signed_certificate(cert_file: Path, key_file: Path, *, hostname: str) -> None:
    """A self-signed certificate for `hostname`, localhost and 127.0.0.1 (development only)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    alt_names: set[x509.GeneralName] = {x509.DNSName(hostname), x509.DNSName("localhost")}
    alt_names.add(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=DEVELOPMENT_CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName(sorted(alt_names, key=str)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def _development_certificate() -> tuple[Path, Path]:
    directory = Path(settings.BASE_DIR) / "var"
    cert_file, key_file = directory / DEVELOPMENT_CERT_NAME, directory / DEVELOPMENT_KEY_NAME
    if not cert_file.exists() or not key_file.exists():
        generate_self_signed_certificate(
            cert_file, key_file, hostname=settings.SMTP_SERVER_HOSTNAME
        )
    return cert_file, key_file


def certificate_files() -> tuple[Path, Path]:
    """SMTP_TLS_CERT_FILE and SMTP_TLS_KEY_FILE, or (with DEBUG) a generated development pair."""
    if settings.SMTP_TLS_CERT_FILE and settings.SMTP_TLS_KEY_FILE:
        return Path(settings.SMTP_TLS_CERT_FILE), Path(settings.SMTP_TLS_KEY_FILE)
    if settings.SMTP_TLS_CERT_FILE or settings.SMTP_TLS_KEY_FILE:
        raise ImproperlyConfigured("Set both SMTP_TLS_CERT_FILE and SMTP_TLS_KEY_FILE, or neither")
    if not settings.DEBUG:
        raise ImproperlyConfigured(
            "SMTP_TLS_CERT_FILE and SMTP_TLS_KEY_FILE must be set when DEBUG is off"
        )
    return _development_certificate()


def server_tls_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context

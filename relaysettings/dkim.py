"""DKIM keys of the sending domains and the signature of relayed mail (dkimpy).

A key is RSA 2048; its private half is stored encrypted (core.crypto) and its public half is
what the owner publishes: TXT `<selector>._domainkey.<domain>` = `v=DKIM1; k=rsa; p=<base64>`.
"""

import base64
import logging
import secrets
from functools import lru_cache

import dkim  # type: ignore[import-untyped]  # dkimpy ships no type information
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from core.crypto import decrypt, encrypt
from relaysettings.models import DkimKey, DnsStatus, RelaySetting

logger = logging.getLogger(__name__)

KEY_BITS = 2048
# The headers signed when present; absent ones are signed as absent too (dkimpy lists them in
# h=), so that nobody can add them on the way without breaking the signature.
SIGNED_HEADERS = [
    b"from",
    b"to",
    b"cc",
    b"reply-to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
]


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def new_selector() -> str:
    """A selector no earlier key of the domain used: the month and a random suffix."""
    return f"sr{timezone.now():%Y%m}{secrets.token_hex(2)}"


def new_key_fields() -> dict:
    """A fresh key pair as DkimKey's fields (selector, encrypted private key, public key)."""
    private_key = new_private_key()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public_der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "selector": new_selector(),
        "private_key_encrypted": encrypt(pem.decode("ascii")),
        "public_key": base64.b64encode(public_der).decode("ascii"),
    }


def new_dkim_key(relay_setting: RelaySetting, *, state: str) -> DkimKey:
    """A fresh key for the domain (saved)."""
    return DkimKey.objects.create(relay_setting=relay_setting, state=state, **new_key_fields())


def record_name(key: DkimKey, domain: str) -> str:
    return f"{key.selector}._domainkey.{domain}"


def record_value(key: DkimKey) -> str:
    return f"v=DKIM1; k=rsa; p={key.public_key}"


def published_key(value: str) -> str | None:
    """The p= of a DKIM TXT record (spaces removed), or None if it has none."""
    for tag in value.split(";"):
        name, _, content = tag.partition("=")
        if name.strip() == "p":
            return "".join(content.split())
    return None


@lru_cache(maxsize=256)
def _private_key_pem(ciphertext: str) -> bytes:
    # Cached by ciphertext: a relay worker signs many messages with the same key, and a
    # rotated key has another ciphertext.
    return decrypt(ciphertext).encode("ascii")


def signing_key_for(relay_setting: RelaySetting) -> DkimKey | None:
    """The key that signs the domain's mail now: the active one, once the domain is verified."""
    if relay_setting.verification_status != DnsStatus.VERIFIED:
        return None
    return DkimKey.objects.filter(relay_setting=relay_setting, state=DkimKey.State.ACTIVE).first()


def signed(relay_setting: RelaySetting, message: bytes) -> bytes:
    """`message` with a DKIM-Signature of its domain prepended (relaxed/relaxed), or as it is
    when the domain is not verified or has no key (it then leaves unsigned, as before)."""
    key = signing_key_for(relay_setting)
    if key is None:
        return message
    try:
        signature = dkim.sign(
            message,
            key.selector.encode("ascii"),
            relay_setting.domain.encode("ascii"),
            _private_key_pem(key.private_key_encrypted),
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=SIGNED_HEADERS,
        )
    except dkim.DKIMException as error:
        # A message dkimpy cannot parse still goes out, unsigned, as it came in.
        logger.warning("DKIM signing for %s failed: %s", relay_setting.domain, error)
        return message
    return signature + message

"""DKIM keys of the sending domains and the signature of relayed mail.

A key is RSA 2048; its private half is stored encrypted (core.crypto) and its public half is
what the owner publishes: TXT `<selector>._domainkey.<domain>` = `v=DKIM1; k=rsa; p=<base64>`.

The signature: dkimpy parses and canonicalises the message and hashes the signed headers (the
same functions its verifier uses), and OpenSSL (`cryptography`) makes the RSA signature, which
dkimpy would compute with Python's `pow` at ~7 ms a message.
"""

import base64
import hashlib
import logging
import secrets
import time
from functools import lru_cache

import dkim  # type: ignore[import-untyped]  # dkimpy ships no type information
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from django.db import connection
from django.utils import timezone
from dkim.canonicalization import Relaxed  # type: ignore[import-untyped]

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
SIGNATURE_HEADER = b"DKIM-Signature"
# Lines of the b= value, so that the header's lines stay within 78 characters.
SIGNATURE_LINE_LENGTH = 72


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
def _private_key(ciphertext: str) -> rsa.RSAPrivateKey:
    # Cached by ciphertext: a relay worker signs many messages with the same key, and a rotated
    # key is another row with another ciphertext, so it is never served stale. The key is ours
    # (new_private_key) and Fernet authenticates it, so OpenSSL's key check, 50 ms, is skipped.
    key = serialization.load_pem_private_key(
        decrypt(ciphertext).encode("ascii"), password=None, unsafe_skip_rsa_key_validation=True
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


# Read for every message, so that the switch to a new key applies from the next one: one row
# of the active key's partial unique index. Raw SQL because the ORM's query (the model's
# ordering joins the relay settings) took more CPU than the signature (bench/RESULTS.md).
_ACTIVE_KEY_SQL = (
    "SELECT selector, private_key_encrypted FROM relaysettings_dkimkey"
    " WHERE relay_setting_id = %s AND state = %s"
)


def signing_key_for(relay_setting: RelaySetting) -> tuple[str, str] | None:
    """(selector, encrypted private key) of the key that signs the domain's mail now: the
    active one, once the domain is verified."""
    if relay_setting.verification_status != DnsStatus.VERIFIED:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_ACTIVE_KEY_SQL, [relay_setting.pk, DkimKey.State.ACTIVE])
        return cursor.fetchone()


def signature_header(
    message: bytes, *, domain: bytes, selector: bytes, private_key: rsa.RSAPrivateKey
) -> bytes:
    """The DKIM-Signature header line (CRLF-terminated) of `message`: rsa-sha256,
    relaxed/relaxed, every SIGNED_HEADERS field signed whether present or not.

    Raises dkim.MessageFormatError for a header section dkimpy cannot parse.
    """
    headers, body = dkim.rfc822_parse(message)
    body_hash = base64.b64encode(hashlib.sha256(Relaxed.canonicalize_body(body)).digest())
    tags = [
        (b"v", b"1"),
        (b"a", b"rsa-sha256"),
        (b"c", b"relaxed/relaxed"),
        (b"d", domain),
        (b"i", b"@" + domain),
        (b"q", b"dns/txt"),
        (b"s", selector),
        (b"t", str(int(time.time())).encode("ascii")),
        (b"h", b" : ".join(SIGNED_HEADERS)),
        (b"bh", body_hash),
    ]
    # Folded once, before hashing, and sent as hashed: b= (empty in the hash) starts the last
    # line and the signature is only appended to it, so nothing hashed is refolded afterwards.
    unsigned = (
        b" "
        + dkim.fold(
            b"; ".join(b"=".join(tag) for tag in tags) + b";", namelen=len(SIGNATURE_HEADER)
        )
        + b"\r\n b="
    )
    header_hash = hashlib.sha256()
    dkim.hash_headers(
        header_hash,
        Relaxed,
        Relaxed.canonicalize_headers(headers),
        SIGNED_HEADERS,
        (SIGNATURE_HEADER, unsigned),
        None,
    )
    signature = base64.b64encode(
        private_key.sign(header_hash.digest(), padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    )
    lines = [
        signature[start : start + SIGNATURE_LINE_LENGTH]
        for start in range(0, len(signature), SIGNATURE_LINE_LENGTH)
    ]
    return SIGNATURE_HEADER + b":" + unsigned + b"\r\n ".join(lines) + b"\r\n"


def signed(relay_setting: RelaySetting, message: bytes) -> bytes:
    """`message` with a DKIM-Signature of its domain prepended (relaxed/relaxed), or as it is
    when the domain is not verified or has no key (it then leaves unsigned, as before)."""
    key = signing_key_for(relay_setting)
    if key is None:
        return message
    selector, private_key_encrypted = key
    try:
        header = signature_header(
            message,
            domain=relay_setting.domain.encode("ascii"),
            selector=selector.encode("ascii"),
            private_key=_private_key(private_key_encrypted),
        )
    except dkim.DKIMException as error:
        # A message dkimpy cannot parse still goes out, unsigned, as it came in.
        logger.warning("DKIM signing for %s failed: %s", relay_setting.domain, error)
        return message
    return header + message

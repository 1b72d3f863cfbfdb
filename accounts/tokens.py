"""API token generation and hashing.

Tokens carry 256 bits from `secrets`, so a single SHA-256 (not a slow password hash) is the
right store: nothing can be guessed, and the hash lets us look a token up by index.
"""

import hashlib
import secrets

TOKEN_PREFIX = "spk_"
VISIBLE_PREFIX_LENGTH = 12


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def visible_prefix(token: str) -> str:
    return token[:VISIBLE_PREFIX_LENGTH]

"""Encryption at rest: round trips, and keys can be rotated without losing stored secrets."""

from cryptography.fernet import Fernet

from core import crypto


def test_it_round_trips_and_hides_the_plaintext():
    ciphertext = crypto.encrypt("s3cret-password")
    assert "s3cret" not in ciphertext
    assert crypto.decrypt(ciphertext) == "s3cret-password"


def test_it_decrypts_old_secrets_after_a_new_key_is_put_first(settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = old_key
    stored = crypto.encrypt("kept")
    settings.FIELD_ENCRYPTION_KEY = f"{new_key},{old_key}"
    assert crypto.decrypt(stored) == "kept"
    settings.FIELD_ENCRYPTION_KEY = new_key
    fresh = crypto.encrypt("new")
    assert Fernet(new_key.encode()).decrypt(fresh.encode()) == b"new"

"""Generated SMTP passwords: readable back (no look-alikes) and still strong."""

import pytest
from django.utils import timezone

from core.crypto import encrypt
from smtpserver.authentication import authenticate_smtp_login
from smtpusers.credentials import (
    PASSWORD_ALPHABET,
    PASSWORD_ENTROPY_BITS,
    PASSWORD_LENGTH,
    generate_smtp_password,
)
from smtpusers.models import SmtpUser
from smtpusers.services import create_smtp_user


def test_it_leaves_out_the_look_alike_characters():
    assert not set("0Oo1lI") & set(PASSWORD_ALPHABET)
    assert len(PASSWORD_ALPHABET) == 56 and PASSWORD_ALPHABET.isalnum()


def test_it_generates_passwords_of_the_alphabet_with_at_least_110_bits():
    passwords = {generate_smtp_password() for _ in range(200)}

    assert len(passwords) == 200
    assert all(len(password) == PASSWORD_LENGTH for password in passwords)
    assert set("".join(passwords)) <= set(PASSWORD_ALPHABET)
    assert PASSWORD_ENTROPY_BITS >= 110


@pytest.mark.django_db
def test_it_keeps_accepting_a_password_made_before_with_look_alikes(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=10, hourly_limit=10)
    old_password = "O0o1lIabcdefghijkLMN"
    SmtpUser.objects.filter(pk=smtp_user.pk).update(password_encrypted=encrypt(old_password))

    authenticated = authenticate_smtp_login(
        smtp_user.smtp_user_name.encode(),
        old_password.encode(),
        client_ip="127.0.0.1",
        now=timezone.now(),
    )

    assert authenticated.pk == smtp_user.pk

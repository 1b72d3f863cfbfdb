"""Failed SMTP logins per address: counted before the password is checked."""

import smtplib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from smtpserver import authentication
from smtpusers.services import create_smtp_user
from testing.submission import connect


@pytest.fixture
def sender(alice):
    return create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)


def auth_plain(server, client_tls, login: str, password: str) -> int:
    """One AUTH PLAIN on a new connection; the reply code."""
    with connect(server, client_tls) as session:
        session.user, session.password = login, password
        try:
            return session.auth("PLAIN", session.auth_plain)[0]
        except smtplib.SMTPAuthenticationError as error:
            return error.smtp_code


def test_it_checks_at_most_the_limit_of_passwords_for_parallel_bad_logins(
    sender, start_server, client_tls, settings, monkeypatch
):
    settings.SMTP_AUTH_FAILURE_LIMIT = 10
    smtp_user, _ = sender
    checks = []
    lock = threading.Lock()
    read_password = authentication.smtp_password_of

    def counted_password_of(user):
        with lock:
            checks.append(user.pk)
        time.sleep(0.05)  # a slow check: the parallel logins overlap in it
        return read_password(user)

    monkeypatch.setattr(authentication, "smtp_password_of", counted_password_of)
    server = start_server(deliver=False)

    with ThreadPoolExecutor(40) as pool:
        codes = list(
            pool.map(
                lambda _: auth_plain(server, client_tls, smtp_user.smtp_user_name, "wrong"),
                range(40),
            )
        )

    assert len(checks) == 10
    assert sorted(codes) == [454] * 30 + [535] * 10


def test_it_does_not_count_successful_logins_against_the_failure_limit(
    sender, start_server, client_tls, settings
):
    settings.SMTP_AUTH_FAILURE_LIMIT = 2
    smtp_user, password = sender
    server = start_server(deliver=False)

    successes = [
        auth_plain(server, client_tls, smtp_user.smtp_user_name, password) for _ in range(5)
    ]
    failures = [auth_plain(server, client_tls, smtp_user.smtp_user_name, "wrong") for _ in range(3)]

    assert successes == [235] * 5
    assert failures == [535, 535, 454]

"""manage.py runsmtp as a real process: it listens, accepts, delivers and stops on SIGTERM."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection

from mailqueue.models import QueuedMessage
from smtpusers.services import create_smtp_user
from testing.submission import free_port, make_relay_setting, send, wait_until


class PortsOnly:
    """What `send` needs of a server: its STARTTLS port."""

    def __init__(self, port: int):
        self.port = port


def _database_url() -> str:
    database = connection.settings_dict
    return f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the server process needs the shared test database"
)
def test_it_serves_and_delivers_with_runsmtp(
    alice, upstream, tls_files, client_tls, transactional_db
):
    smtp_user, password = create_smtp_user(alice.owner, total_limit=10, hourly_limit=10)
    make_relay_setting(alice.owner, "alice.example", upstream.port)
    tls_port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "SMTP_TLS_CERT_FILE": str(tls_files[0]),
        "SMTP_TLS_KEY_FILE": str(tls_files[1]),
        "SMTP_ALLOW_PLAINTEXT_AUTH": "False",
        "MAILQUEUE_POLL_SECONDS": "0.1",
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runsmtp", "--port", "0", "--tls-port", str(tls_port)],
        cwd=Path(django_settings.BASE_DIR),
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = []
        for line in process.stdout:
            banner.append(line)
            if line.startswith("Ctrl-C to stop."):
                break
        output = "".join(banner)
        starttls_port = int(re.search(r":(\d+) \(STARTTLS\)", output).group(1))
        assert f"127.0.0.1:{tls_port} (implicit TLS)" in output
        assert "Delivering queued mail with 1 worker(s)" in output

        send(
            PortsOnly(starttls_port),
            client_tls,
            login=smtp_user.smtp_user_name,
            password=password,
            mail_from="news@alice.example",
            to=["reader@destination.test"],
            subject="Via runsmtp",
        )

        received = wait_until(lambda: upstream.messages, message="the upstream to receive it")
        assert b"Subject: Via runsmtp" in received[0].data
        wait_until(
            lambda: QueuedMessage.objects.filter(status="delivered").exists(),
            message="the queue row to be marked delivered",
        )
    finally:
        process.terminate()
        remaining_output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, remaining_output


def test_it_refuses_to_run_without_a_certificate_when_debug_is_off(settings):
    settings.DEBUG = False
    settings.SMTP_TLS_CERT_FILE = settings.SMTP_TLS_KEY_FILE = ""

    with pytest.raises(CommandError) as refused:
        call_command("runsmtp")

    assert str(refused.value) == (
        "TLS certificate: SMTP_TLS_CERT_FILE and SMTP_TLS_KEY_FILE must be set when DEBUG is off"
    )

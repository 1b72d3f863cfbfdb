"""Request bodies sent with Transfer-Encoding: chunked and no Content-Length (the SendClean Node
client, `curl -H 'Transfer-Encoding: chunked'`), through real servers: gunicorn as the README
runs it, and manage.py runserver."""

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.db import connection

from relaysettings.models import RelaySetting
from smtpusers.models import SmtpUser
from smtpusers.selectors import smtp_password_of
from testing.email_settings import SEED_DOMAIN, seed_record, settings_url
from testing.http import send_chunked
from testing.submission import free_port

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the server process needs the shared test database"
)

PROJECT_DIR = Path(django_settings.BASE_DIR)


@dataclass
class Server:
    port: int

    def send(self, method, path, body: bytes, content_type: str, chunk_size: int = 64):
        return send_chunked(self.port, method, path, body, content_type, chunk_size)


def server_command(kind: str, port: int) -> tuple[list[str], dict]:
    database = connection.settings_dict
    environment = {
        **{
            name: value for name, value in os.environ.items() if name != "DJANGO_ALLOW_ASYNC_UNSAFE"
        },
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        ),
        "FIELD_ENCRYPTION_KEY": django_settings.FIELD_ENCRYPTION_KEY,
        "PYTHONUNBUFFERED": "1",
    }
    if kind == "gunicorn":
        production = {
            "DEBUG": "False",
            "SECRET_KEY": "chunked-test-" + "s" * 50,
            "ALLOWED_HOSTS": "127.0.0.1",
            # Plain HTTP on loopback, as behind a TLS-terminating proxy.
            "SECURE_SSL_REDIRECT": "False",
            "BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "1",
        }
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "portal.wsgi"]
        return command, {**environment, **production}
    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    return command, environment


@pytest.fixture(scope="module", params=["gunicorn", "runserver"])
def portal_server(request, django_db_setup, tmp_path_factory):
    port = free_port()
    command, environment = server_command(request.param, port)
    log_path = tmp_path_factory.mktemp(request.param) / "server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                status, _, _ = send_chunked(port, "GET", "/healthz", b"", "text/plain")
                if status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        yield Server(port)
    finally:
        process.terminate()
        process.wait(timeout=30)


def encoded(encoding: str, fields: dict) -> tuple[bytes, str]:
    if encoding == "json":
        return json.dumps(fields).encode(), "application/json"
    return urlencode(fields).encode(), "application/x-www-form-urlencoded"


@pytest.mark.parametrize("encoding", ["json", "form"])
def test_it_reads_chunked_bodies_on_every_smtp_users_call(
    portal_server, alice, transactional_db, encoding
):
    def call(path, **fields):
        status, _, body = portal_server.send(
            "POST", path, *encoded(encoding, {**alice.credentials, **fields})
        )
        return status, json.loads(body)

    added = call("/v1.0/settings/addSmtp", total_limit=500, hourly_limit=20)
    name = added[1]["smtp_user_name"]
    edited = call("/v1.0/settings/editSmtp", smtp_user_name=name, total_limit=900, status="Disable")
    reset = call("/settings/resetSmtpPassword", smtp_user_name=name)
    listed = call("/settings/listSmtp")

    assert (added[0], added[1]["status"]) == (200, "success"), added
    assert edited == (200, {"status": "success", "message": "SMTP User Updated"})
    assert (reset[0], reset[1]["message"]) == (200, "password reseted"), reset
    assert listed[0] == 200, listed
    [item] = listed[1]["smtp_list"]
    assert (item["smtp_user_name"], item["total_limit"], item["hourly_limit"]) == (name, 900, 20)
    assert (item["status"], item["smtp_password"]) == ("Disable", reset[1]["smtp_password"])
    smtp_user = SmtpUser.objects.get(owner=alice.owner)
    assert (smtp_user.total_limit, smtp_user.is_enabled) == (900, False)
    assert smtp_password_of(smtp_user) == reset[1]["smtp_password"]


def test_it_reads_chunked_json_bodies_on_email_settings_post_and_put(
    portal_server, alice, transactional_db
):
    credentials = {"x_key": alice.owner_id, "access_token": alice.token}
    url = settings_url(domain=SEED_DOMAIN)

    created = portal_server.send(
        "POST", url, json.dumps({**seed_record(), **credentials}).encode(), "application/json"
    )
    replaced = portal_server.send(
        "PUT",
        url,
        json.dumps({**seed_record(description="Replaced"), **credentials}).encode(),
        "application/json",
    )

    assert created[0] == 200, created
    assert json.loads(created[2])["from"] == "my@webitel.com"
    assert replaced[0] == 200, replaced
    assert json.loads(replaced[2])["description"] == "Replaced"
    assert RelaySetting.objects.get(owner=alice.owner).description == "Replaced"


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_it_reads_credentials_from_a_chunked_form_body_on_email_settings(
    portal_server, alice, transactional_db, method
):
    # The record is nested JSON, so a form body is refused: after the credentials in it passed.
    body = urlencode({"x_key": alice.owner_id, "access_token": alice.token}).encode()

    status, _, answer = portal_server.send(
        method, settings_url(domain=SEED_DOMAIN), body, "application/x-www-form-urlencoded"
    )

    assert (status, json.loads(answer)) == (
        400,
        {
            "status": "error",
            "info": "Bad parameters.",
            "errors": {
                "body": "The request body must be a JSON object (Content-Type: application/json)"
            },
        },
    )


def test_it_refuses_a_chunked_body_over_the_size_limit_in_each_envelope(
    portal_server, transactional_db
):
    limit = django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = json.dumps({"padding": "x" * limit}).encode()
    too_large = f"The request body is too large (at most {limit} bytes)"

    smtp = portal_server.send("POST", "/v1.0/settings/listSmtp", body, "application/json", 65536)
    email = portal_server.send(
        "POST", settings_url(domain=SEED_DOMAIN), body, "application/json", 65536
    )

    assert smtp[0] == 413
    assert json.loads(smtp[2])["message"] == too_large
    assert email[0] == 413
    assert json.loads(email[2]) == {"status": "error", "info": too_large}

"""Production behaviour: deploy checks, security headers, health check, database outages."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.db import connection

PROJECT_DIR = Path(__file__).resolve().parents[2]


def deploy_check(**environment) -> subprocess.CompletedProcess:
    """`manage.py check --deploy` in a production environment (DEBUG off, secrets given)."""
    # The browser tests allow sync ORM calls under Playwright's event loop in this process, and
    # the test kit lets unverified domains send; production does neither.
    test_only = {"DJANGO_ALLOW_ASYNC_UNSAFE", "DOMAIN_VERIFICATION"}
    inherited = {k: v for k, v in os.environ.items() if k not in test_only}
    env = {
        **inherited,
        "DEBUG": "False",
        "SECRET_KEY": "p" * 20 + "-production-secret-key-0123456789-abcdefgh",
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "portal.example.com",
        **environment,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_passes_the_deploy_checks_with_the_documented_production_env():
    result = deploy_check(
        REDIS_URL="redis://127.0.0.1:6379/0",
        EMAIL_URL="smtp+tls://portal:secret@smtp.example.com:587",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_it_warns_in_the_deploy_checks_without_redis_or_a_mail_server():
    result = deploy_check(REDIS_URL="", EMAIL_URL="consolemail://")

    assert result.returncode == 1
    assert "(accounts.W001) REDIS_URL is not set" in result.stderr
    assert "(accounts.W002) EMAIL_URL sends the portal's email nowhere" in result.stderr
    assert "System check identified 2 issues (0 silenced)." in result.stderr


def test_it_sends_security_headers(client, db):
    response = client.get("/accounts/login/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_it_reports_health_when_the_database_answers(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.fixture
def database_unreachable(transactional_db):
    """Point the connection at a closed port; put it back afterwards."""
    original_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"

    def restore():
        connection.close()
        connection.settings_dict["PORT"] = original_port

    yield restore
    restore()


def test_it_answers_503_while_the_database_is_down_and_recovers(
    client, alice, database_unreachable
):
    down_health = client.get("/healthz")
    down_api = client.post(
        "/v1.0/settings/listSmtp", json.dumps(alice.credentials), content_type="application/json"
    )
    down_email_api = client.get("/api/v2/email/settings?domain=shop.example", headers=alice.headers)
    database_unreachable()
    up_email_api = client.get("/api/v2/email/settings?domain=shop.example", headers=alice.headers)
    up_api = client.post(
        "/v1.0/settings/listSmtp", json.dumps(alice.credentials), content_type="application/json"
    )

    assert down_health.status_code == 503
    assert down_health.json()["database"] == "unreachable"
    assert down_api.status_code == 503
    assert down_api.json() == {
        "status": "error",
        "code": -1,
        "name": "GeneralError",
        "type": "GeneralError",
        "message": "Service temporarily unavailable; try again",
    }
    assert down_email_api.status_code == 503
    assert down_email_api.json() == {
        "status": "error",
        "info": "Service temporarily unavailable; try again",
    }
    assert up_email_api.json() == {"status": "error", "info": "Not found!"}
    assert up_api.status_code == 200
    assert up_api.json() == {"status": "success", "smtp_list": []}

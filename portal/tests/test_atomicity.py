"""A failure inside a service, after its first write, leaves nothing half-written."""

import json

import pytest

from audit.models import AuditEvent
from relaysettings.models import RelaySetting
from smtpusers.models import SmtpUser
from smtpusers.services import create_smtp_user


@pytest.fixture
def inject_failure(monkeypatch):
    """From its call on, the audit write (the last step of every service) raises."""

    def explode(*args, **kwargs):
        raise RuntimeError("injected failure")

    def inject():
        for module in ("smtpusers.services", "relaysettings.services", "accounts.services"):
            monkeypatch.setattr(f"{module}.record_event", explode)

    return inject


@pytest.fixture
def failing_audit(inject_failure):
    inject_failure()


def test_it_creates_no_smtp_user_when_the_service_fails_midway(client, alice, failing_audit):
    response = client.post(
        "/v1.0/settings/addSmtp",
        json.dumps({**alice.credentials, "total_limit": 5, "hourly_limit": 1}),
        content_type="application/json",
    )
    assert response.status_code == 500
    assert response.json()["message"] == "Internal error"
    assert SmtpUser.objects.count() == 0


def test_it_keeps_the_old_limits_when_an_edit_fails_midway(client, alice, inject_failure):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=5, hourly_limit=1)
    inject_failure()
    response = client.post(
        "/settings/editSmtp",
        json.dumps(
            {
                **alice.credentials,
                "smtp_user_name": smtp_user.smtp_user_name,
                "total_limit": 99,
                "status": "Disable",
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 500
    smtp_user.refresh_from_db()
    assert (smtp_user.total_limit, smtp_user.is_enabled) == (5, True)


def test_it_stores_no_email_settings_when_the_service_fails_midway(client, alice, failing_audit):
    body = {
        "provider": "smtp",
        "from": "news@shop.example",
        "options": {
            "host": "smtp.upstream.example",
            "port": 587,
            "auth": {"user": "u", "pass": "relay-Secret-1"},
        },
    }
    response = client.post(
        "/api/v2/email/settings?domain=shop.example",
        json.dumps(body),
        content_type="application/json",
        headers=alice.headers,
    )
    assert response.status_code == 500
    assert response.json() == {"status": "error", "info": "Internal error"}
    assert RelaySetting.objects.count() == 0


def test_it_creates_no_token_when_the_page_action_fails_midway(client, alice, failing_audit):
    client.force_login(alice.login)
    tokens_before = alice.owner.api_tokens.count()
    with pytest.raises(RuntimeError, match="injected failure"):
        client.post("/tokens/new/", {"name": "deploy"})
    assert alice.owner.api_tokens.count() == tokens_before
    assert not AuditEvent.objects.filter(action="api_token.create", target__contains="deploy")

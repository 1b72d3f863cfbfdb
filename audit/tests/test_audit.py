"""Every change to SMTP users and API tokens leaves an audit event, never with a secret."""

import json

from accounts.services import create_api_token, revoke_api_token
from audit.models import AuditEvent
from core.actors import Actor, acting_as
from smtpusers import services
from testing.email_settings import relay_record


def post_json(client, path, body, **extra):
    return client.post(path, json.dumps(body), content_type="application/json", **extra)


def events():
    return list(AuditEvent.objects.order_by("id").values("action", "target", "changes", "actor"))


def test_it_records_api_changes_with_the_token_prefix_and_address(client, alice):
    AuditEvent.objects.all().delete()
    created = post_json(
        client,
        "/v1.0/settings/addSmtp",
        {**alice.credentials, "total_limit": 10, "hourly_limit": 2},
        REMOTE_ADDR="203.0.113.7",
    ).json()
    name = created["smtp_user_name"]
    post_json(
        client,
        "/settings/editSmtp",
        {**alice.credentials, "smtp_user_name": name, "total_limit": 20, "status": "Disable"},
    )
    reset = post_json(
        client, "/settings/resetSmtpPassword", {**alice.credentials, "smtp_user_name": name}
    ).json()

    recorded = AuditEvent.objects.filter(owner=alice.owner).order_by("id")
    assert [event.action for event in recorded] == [
        "smtp_user.create",
        "smtp_user.update",
        "smtp_user.reset_password",
    ]
    first = recorded[0]
    assert first.actor.startswith("API token " + alice.token[:12] + "…")
    assert first.source_ip == "203.0.113.7"
    assert first.target == f"SMTP user {name}"
    assert first.changes == {"total_limit": [None, 10], "hourly_limit": [None, 2]}
    assert recorded[1].changes == {"total_limit": [10, 20], "status": ["Enable", "Disable"]}
    assert recorded[2].changes == {}
    dumped = json.dumps(events())
    for secret in (created["smtp_password"], reset["smtp_password"], alice.token):
        assert secret not in dumped


def test_it_records_nothing_for_an_edit_that_changes_nothing(client, alice):
    smtp_user, _ = services.create_smtp_user(alice.owner, total_limit=5, hourly_limit=5)
    before = AuditEvent.objects.count()
    services.update_smtp_user(alice.owner, smtp_user_name=smtp_user.smtp_user_name, total_limit=5)
    assert AuditEvent.objects.count() == before


def test_it_records_each_user_of_a_bulk_status_change(alice):
    names = [
        services.create_smtp_user(alice.owner, total_limit=1, hourly_limit=1)[0].smtp_user_name
        for _ in range(3)
    ]
    services.set_smtp_users_status(alice.owner, smtp_user_names=names[:2], status="Disable")
    disabled = AuditEvent.objects.filter(action="smtp_user.update").order_by("target")
    assert sorted(event.target for event in disabled) == sorted(f"SMTP user {n}" for n in names[:2])
    assert all(event.changes == {"status": ["Enable", "Disable"]} for event in disabled)


def test_it_records_token_changes_and_the_acting_login(alice):
    with acting_as(Actor(label="login alice@example.com", source_ip="198.51.100.4")):
        api_token, token = create_api_token(alice.owner, name="ci")
        revoke_api_token(alice.owner, token_id=api_token.pk)
    recorded = AuditEvent.objects.filter(owner=alice.owner, action__startswith="api_token.")
    assert [(event.action, event.actor, event.source_ip) for event in recorded.order_by("id")][
        -2:
    ] == [
        ("api_token.create", "login alice@example.com", "198.51.100.4"),
        ("api_token.revoke", "login alice@example.com", "198.51.100.4"),
    ]
    assert all(token not in event.target for event in recorded)


def test_it_names_the_system_when_no_surface_acts(alice):
    services.create_smtp_user(alice.owner, total_limit=1, hourly_limit=1)
    assert AuditEvent.objects.filter(action="smtp_user.create").get().actor == "system"


SETTINGS_BODY = relay_record(
    "smtp.upstream.example",
    587,
    from_address="news@shop.example",
    description="Main",
    reject_unauthorized=True,
    auth=("news@shop.example", "relay-Secret-123"),
)


def settings_call(client, method, tenant, body=None):
    return getattr(client, method)(
        "/api/v2/email/settings?domain=shop.example",
        json.dumps(body) if body is not None else None,
        content_type="application/json",
        headers=tenant.headers,
    )


def test_it_records_email_settings_changes_without_the_password(client, alice):
    settings_call(client, "post", alice, SETTINGS_BODY)
    changed = {
        **SETTINGS_BODY,
        "options": {
            **SETTINGS_BODY["options"],
            "port": 2525,
            "auth": {"user": "news@shop.example", "pass": "new-Secret-456"},
        },
    }
    settings_call(client, "put", alice, changed)
    settings_call(client, "delete", alice)

    recorded = list(AuditEvent.objects.filter(action__startswith="relay_setting.").order_by("id"))
    assert [event.action for event in recorded] == [
        "relay_setting.create",
        "relay_setting.update",
        "relay_setting.delete",
    ]
    assert recorded[0].changes["host"] == [None, "smtp.upstream.example"]
    assert recorded[1].changes == {"port": [587, 2525], "auth_password": [None, "changed"]}
    assert all(event.target == "Email settings of shop.example" for event in recorded)
    assert recorded[0].actor.startswith("API token ")
    dumped = json.dumps(events())
    assert "relay-Secret-123" not in dumped and "new-Secret-456" not in dumped


def test_it_records_a_failed_test_send_with_the_upstream_error(client, alice):
    closed_port = {
        **SETTINGS_BODY,
        "options": {**SETTINGS_BODY["options"], "host": "127.0.0.1", "port": 1},
    }
    settings_call(client, "post", alice, closed_port)
    response = client.post(
        "/api/v2/email/settings/test/someone@example.org?domain=shop.example",
        headers=alice.headers,
    )
    assert response.status_code == 400
    event = AuditEvent.objects.get(action="relay_setting.test_send")
    assert event.changes["to"] == [None, "someone@example.org"]
    assert event.changes["result"][1].startswith("failed: Cannot connect to 127.0.0.1:1")

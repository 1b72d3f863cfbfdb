"""The Alerts page: settings, the webhook secret shown once, the test alert and the log."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts import services
from alerts.delivery import deliver_due_alerts
from alerts.models import AlertDelivery, AlertSettings
from core.crypto import decrypt
from smtpusers.quota import consume_send_quota
from smtpusers.services import create_smtp_user

URL = "/alerts/"
FORM = {
    "hourly_thresholds": "80, 100",
    "daily_thresholds": "80, 100",
    "total_thresholds": "80, 100",
    "email_enabled": "on",
    "webhook_url": "",
}


def shown_secret(response) -> str | None:
    found = re.search(r'id="webhook-secret" class="secret">([^<]+)<', response.content.decode())
    return found.group(1) if found else None


def test_it_shows_the_default_settings_and_an_empty_log(alice_client):
    body = alice_client.get(URL).content.decode()

    assert 'name="hourly_thresholds" value="80, 100"' in body
    assert 'name="email_enabled" id="id_email_enabled" checked' in body
    assert "No webhook URL set: alerts go by email only." in body
    assert "No alerts sent yet." in body


def test_it_saves_a_webhook_and_shows_its_secret_once(alice_client, alice):
    first = alice_client.post(
        URL,
        {**FORM, "hourly_thresholds": "50,90", "webhook_url": "https://hooks.example.com/p"},
        follow=True,
    )
    second = alice_client.post(URL, {**FORM, "webhook_url": "https://hooks.example.com/p"})
    page = alice_client.get(URL)

    secret = shown_secret(first)
    stored = AlertSettings.objects.get(owner=alice.owner)
    assert secret and decrypt(stored.webhook_secret_encrypted) == secret
    assert "no-store" in first.headers["Cache-Control"]
    assert (second.status_code, second.url) == (302, URL)
    assert shown_secret(page) is None and secret not in page.content.decode()
    assert "<code>https://hooks.example.com/p</code>" in page.content.decode()
    assert stored.quota_thresholds["hourly"] == [80, 100]  # the second save put them back


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("webhook_url", "http://127.0.0.1:9000/x", "must point to a public host"),
        ("webhook_url", "gopher://hooks.example.com", "must be an http:// or https:// URL"),
        ("daily_thresholds", "80, 120", "whole percentages from 1 to 100"),
    ],
)
def test_it_shows_a_refused_value_under_its_field_and_saves_nothing(
    alice_client, field, value, message
):
    response = alice_client.post(URL, {**FORM, field: value})

    errors = re.search(
        rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', response.content.decode(), re.S
    )
    assert errors and message in errors.group(1)
    assert not AlertSettings.objects.exists()


def test_it_asks_before_regenerating_the_secret_and_shows_the_new_one_once(alice_client, alice):
    old = shown_secret(
        alice_client.post(URL, {**FORM, "webhook_url": "https://hooks.example.com"}, follow=True)
    )

    question = alice_client.get(reverse("alerts:regenerate-secret"))
    unchanged = decrypt(AlertSettings.objects.get(owner=alice.owner).webhook_secret_encrypted)
    response = alice_client.post(reverse("alerts:regenerate-secret"), follow=True)

    assert "Generate a new webhook secret?" in question.content.decode()
    assert unchanged == old
    new = shown_secret(response)
    assert new and new != old
    assert decrypt(AlertSettings.objects.get(owner=alice.owner).webhook_secret_encrypted) == new


def test_it_queues_a_test_alert_and_logs_its_delivery(alice_client, alice):
    response = alice_client.post(reverse("alerts:test"), follow=True)
    deliver_due_alerts()
    body = alice_client.get(URL).content.decode()

    assert "Test alert queued" in response.content.decode()
    assert AlertDelivery.objects.get().status == "delivered"
    assert '<span class="badge">test</span>' in body
    assert '<span class="badge delivered">Delivered</span>' in body
    assert "alice@example.com" in body


def test_it_says_when_no_channel_is_configured_for_a_test(alice_client, alice):
    alice_client.post(URL, {**FORM, "email_enabled": ""})
    response = alice_client.post(reverse("alerts:test"), follow=True)
    assert "Turn on email alerts or set a webhook URL first" in response.content.decode()
    assert not AlertDelivery.objects.exists()


def test_it_logs_failed_attempts_with_response_code_and_error(alice_client, alice, bob):
    services.update_alert_settings(
        alice.owner,
        quota_thresholds={"hourly": "100"},
        email_enabled=False,
        webhook_url="https://hooks.example.com/p",
    )
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=10, hourly_limit=1)
    bobs_user, _ = create_smtp_user(bob.owner, total_limit=10, hourly_limit=1)
    consume_send_quota(smtp_user.pk, now=timezone.now())
    consume_send_quota(bobs_user.pk, now=timezone.now())
    delivery = AlertDelivery.objects.get(owner=alice.owner)
    AlertDelivery.objects.filter(pk=delivery.pk).update(
        attempts=3, response_code=502, last_error="HTTP 502: bad gateway"
    )

    body = alice_client.get(URL).content.decode()

    assert "HTTP 502: bad gateway" in body and ">502<" in body
    assert smtp_user.smtp_user_name in body
    assert bobs_user.smtp_user_name not in body


def test_it_sends_visitors_to_sign_in(client, db):
    response = client.get(URL)
    assert (response.status_code, response.url) == (302, "/accounts/login/?next=/alerts/")


def test_it_shows_support_the_deliveries_and_settings_but_never_the_secret(
    client, support_member, alice
):
    _, secret = services.update_alert_settings(
        alice.owner,
        quota_thresholds={"hourly": "80"},
        email_enabled=True,
        webhook_url="https://hooks.example.com/p",
    )
    services.send_test_alert(alice.owner, now=timezone.now())
    client.force_login(support_member.user)

    settings_list = client.get(reverse("admin:alerts_alertsettings_changelist")).content.decode()
    settings_page = client.get(
        reverse("admin:alerts_alertsettings_change", args=[AlertSettings.objects.get().pk])
    ).content.decode()
    deliveries = client.get(reverse("admin:alerts_alertdelivery_changelist")).content.decode()

    assert "https://hooks.example.com/p" in settings_list
    assert secret not in settings_page
    stored = AlertSettings.objects.get().webhook_secret_encrypted
    assert stored not in settings_page and stored not in settings_list
    assert "2 alert deliveries" in deliveries

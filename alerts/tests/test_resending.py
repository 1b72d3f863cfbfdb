"""Alert pages are safe to re-send: a new webhook secret is generated and shown once, a test
alert queued once (core.once)."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from alerts.models import AlertDelivery, AlertSettings
from core.crypto import decrypt
from testing.http import hidden_fields, page_text

URL = "/alerts/"
FORM = {
    "hourly_thresholds": "80, 100",
    "daily_thresholds": "80, 100",
    "total_thresholds": "80, 100",
    "email_enabled": "on",
    "webhook_url": "https://hooks.example.com/p",
}


@pytest.fixture
def strict_client(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice.login)
    return client


def shown_secret(response) -> str | None:
    found = re.search(r'id="webhook-secret" class="secret">([^<]+)<', response.content.decode())
    return found.group(1) if found else None


def stored_secret(alice) -> str:
    return decrypt(AlertSettings.objects.get(owner=alice.owner).webhook_secret_encrypted)


def test_it_regenerates_the_secret_once_when_the_confirmation_is_sent_twice(strict_client, alice):
    strict_client.post(URL, {**hidden_fields(strict_client.get(URL)), **FORM})
    url = reverse("alerts:regenerate-secret")
    data = hidden_fields(strict_client.get(url))

    posted = strict_client.post(url, data)
    shown = strict_client.get(posted["Location"])
    secret = stored_secret(alice)
    reloaded = strict_client.get(posted["Location"])
    resent = strict_client.post(url, data, follow=True)

    assert shown_secret(shown) == secret
    assert "no-store" in shown["Cache-Control"]
    for response in (reloaded, resent):
        assert shown_secret(response) is None and secret not in response.content.decode()
        assert "Already shown — the webhook secret was shown once." in page_text(response)
    assert stored_secret(alice) == secret


def test_it_queues_one_test_alert_when_the_confirmation_is_sent_twice(strict_client, alice):
    url = reverse("alerts:test")
    data = hidden_fields(strict_client.get(url))

    strict_client.post(url, data)
    strict_client.post(url, data)

    assert AlertDelivery.objects.filter(owner=alice.owner).count() == 1

"""API token pages and the API token admin are safe to re-send (core.once)."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken
from core.once import ALREADY_DONE_MESSAGE
from testing.http import hidden_fields, page_text


@pytest.fixture
def strict_client(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice.login)
    return client


def test_it_creates_one_token_when_the_form_is_sent_twice_and_shows_it_once(strict_client, alice):
    form = hidden_fields(strict_client.get(reverse("tokens:create")))
    data = {**form, "name": "billing app"}

    posted = strict_client.post(reverse("tokens:create"), data)
    shown = strict_client.get(posted["Location"])
    token = re.search(r'id="api-token" class="secret">([^<]+)<', shown.content.decode()).group(1)
    reloaded = strict_client.get(posted["Location"])
    resent = strict_client.post(reverse("tokens:create"), data, follow=True)

    assert ApiToken.objects.filter(owner=alice.owner, name="billing app").count() == 1
    assert "no-store" in shown["Cache-Control"]
    for response in (reloaded, resent):
        assert token not in response.content.decode()
        assert "Already shown — the token was shown once." in page_text(response)
    assert ALREADY_DONE_MESSAGE in [str(m) for m in resent.context["messages"]]


def test_it_answers_a_revoke_sent_twice_without_an_error(strict_client, alice):
    api_token = ApiToken.objects.get(owner=alice.owner)
    url = reverse("tokens:revoke", args=[api_token.pk])
    data = hidden_fields(strict_client.get(url))

    strict_client.post(url, data)
    again = strict_client.post(url, data, follow=True)

    assert ApiToken.objects.get(pk=api_token.pk).is_revoked
    assert again.status_code == 200
    assert ALREADY_DONE_MESSAGE in [str(m) for m in again.context["messages"]]


def test_it_revokes_tokens_once_when_the_admin_action_is_sent_twice(client, superuser, alice):
    client.force_login(superuser.user)
    changelist = reverse("admin:accounts_apitoken_changelist")
    api_token = ApiToken.objects.get(owner=alice.owner)
    data = {
        **hidden_fields(client.get(changelist)),
        "action": "revoke_api_tokens",
        "_selected_action": [api_token.pk],
    }

    first = client.post(changelist, data, follow=True)
    revoked_at = ApiToken.objects.get(pk=api_token.pk).revoked_at
    again = client.post(changelist, data, follow=True)

    assert "Revoked 1 API token(s)." in [str(m) for m in first.context["messages"]]
    assert ApiToken.objects.get(pk=api_token.pk).revoked_at == revoked_at
    assert ALREADY_DONE_MESSAGE in [str(m) for m in again.context["messages"]]

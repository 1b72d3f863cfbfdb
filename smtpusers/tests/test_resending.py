"""Every dashboard POST that changes an SMTP user is safe to re-send: the same POST (same CSRF
and one-time form token, as a reload or Back sends it) is not done twice, and a password is
shown once, from encrypted server-side state."""

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from core.crypto import decrypt
from core.once import ALREADY_DONE_MESSAGE
from smtpusers import services
from smtpusers.models import SmtpUser
from testing.http import hidden_fields, page_text


@pytest.fixture
def strict_client(alice):
    """Alice's browser: CSRF enforced, so each POST must carry what the page gave it."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice.login)
    return client


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_it_creates_one_smtp_user_when_the_create_form_is_sent_twice(strict_client, alice):
    form = hidden_fields(strict_client.get(reverse("smtpusers:create")))
    data = {**form, "total_limit": "100", "hourly_limit": "10"}

    first = strict_client.post(reverse("smtpusers:create"), data)
    shown = strict_client.get(first["Location"])
    again = strict_client.post(reverse("smtpusers:create"), data, follow=True)

    smtp_user = SmtpUser.objects.get(owner=alice.owner)
    password = decrypt(smtp_user.password_encrypted)
    assert first.status_code == 302
    assert password in shown.content.decode()
    assert "no-store" in shown["Cache-Control"]
    assert again.redirect_chain == [(first["Location"], 302)]
    assert password not in again.content.decode()
    assert "Already shown — the password was shown once." in page_text(again)
    assert ALREADY_DONE_MESSAGE in messages_of(again)


def test_it_shows_the_new_password_once_and_a_reload_resets_nothing(strict_client, alice):
    smtp_user, _ = services.create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)
    url = reverse("smtpusers:reset-password", args=[smtp_user.smtp_user_name])
    data = hidden_fields(strict_client.get(url))

    posted = strict_client.post(url, data)
    new_password = decrypt(SmtpUser.objects.get(pk=smtp_user.pk).password_encrypted)
    shown = strict_client.get(posted["Location"])
    reloaded = strict_client.get(posted["Location"])
    resent = strict_client.post(url, data, follow=True)

    assert new_password in shown.content.decode()
    for response in (reloaded, resent):
        assert new_password not in response.content.decode()
        assert "Already shown — the password was shown once." in page_text(response)
    assert decrypt(SmtpUser.objects.get(pk=smtp_user.pk).password_encrypted) == new_password


def test_it_keeps_the_password_encrypted_in_the_session_until_shown(strict_client, alice):
    data = hidden_fields(strict_client.get(reverse("smtpusers:create")))

    posted = strict_client.post(
        reverse("smtpusers:create"), {**data, "total_limit": "5", "hourly_limit": "5"}
    )
    password = decrypt(SmtpUser.objects.get(owner=alice.owner).password_encrypted)
    session_before = str(Session.objects.get().get_decoded())
    strict_client.get(posted["Location"])
    session_after = str(Session.objects.get().get_decoded())

    assert "once_shown_secrets" in session_before and password not in session_before
    assert "ciphertext" not in session_after


def test_it_does_not_redo_a_bulk_disable_sent_again_after_a_later_change(strict_client, alice):
    smtp_user, _ = services.create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)
    name = smtp_user.smtp_user_name
    bulk = reverse("smtpusers:bulk-status")
    data = {
        **hidden_fields(strict_client.get(reverse("smtpusers:list")), bulk),
        "smtp_user_names": [name],
        "status": "Disable",
    }

    strict_client.post(bulk, data)
    services.update_smtp_user(alice.owner, smtp_user_name=name, status="Enable")
    again = strict_client.post(bulk, data, follow=True)

    assert SmtpUser.objects.get(pk=smtp_user.pk).is_enabled
    assert ALREADY_DONE_MESSAGE in messages_of(again)


@pytest.mark.parametrize("action", ["disable", "enable"])
def test_it_does_not_redo_a_status_change_sent_again(strict_client, alice, action):
    smtp_user, _ = services.create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)
    name = smtp_user.smtp_user_name
    if action == "enable":
        services.update_smtp_user(alice.owner, smtp_user_name=name, status="Disable")
    url = reverse(f"smtpusers:{action}", args=[name])
    data = hidden_fields(strict_client.get(url))

    strict_client.post(url, data)
    flipped_back = "Disable" if action == "enable" else "Enable"
    services.update_smtp_user(alice.owner, smtp_user_name=name, status=flipped_back)
    strict_client.post(url, data)

    assert SmtpUser.objects.get(pk=smtp_user.pk).status == flipped_back


def test_it_lets_a_refused_form_be_corrected_and_sent_with_the_same_token(strict_client, alice):
    data = hidden_fields(strict_client.get(reverse("smtpusers:create")))

    refused = strict_client.post(reverse("smtpusers:create"), {**data, "total_limit": "0"})
    accepted = strict_client.post(
        reverse("smtpusers:create"), {**data, "total_limit": "5", "hourly_limit": "5"}
    )

    assert refused.status_code == 200 and accepted.status_code == 302
    assert SmtpUser.objects.filter(owner=alice.owner).count() == 1


# --- admin ------------------------------------------------------------------------------------


def test_it_resets_once_when_the_admin_action_is_sent_twice(client, superuser, alice):
    client.force_login(superuser.user)
    smtp_user, _ = services.create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)
    changelist = reverse("admin:smtpusers_smtpuser_changelist")
    data = {
        **hidden_fields(client.get(changelist)),
        "action": "reset_smtp_passwords",
        "_selected_action": [smtp_user.pk],
    }

    posted = client.post(changelist, data)
    new_password = decrypt(SmtpUser.objects.get(pk=smtp_user.pk).password_encrypted)
    shown = client.get(posted["Location"])
    reloaded = client.get(posted["Location"])
    resent = client.post(changelist, data, follow=True)

    assert f"<code>{new_password}</code>" in shown.content.decode()
    assert "no-store" in shown["Cache-Control"]
    for response in (reloaded, resent):
        assert new_password not in response.content.decode()
        assert "Already shown — the password was shown once." in page_text(response)
    assert decrypt(SmtpUser.objects.get(pk=smtp_user.pk).password_encrypted) == new_password


def test_it_adds_one_smtp_user_when_the_admin_add_form_is_sent_twice(client, superuser, alice):
    client.force_login(superuser.user)
    add_url = reverse("admin:smtpusers_smtpuser_add")
    data = {
        **hidden_fields(client.get(add_url)),
        "owner": str(alice.owner.pk),
        "total_limit": "300",
        "hourly_limit": "30",
    }

    first = client.post(add_url, data)
    again = client.post(add_url, data)

    assert SmtpUser.objects.count() == 1
    assert again["Location"] == first["Location"]

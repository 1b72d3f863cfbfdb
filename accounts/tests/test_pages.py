"""Account pages: sign in/out and lockout, passwords, home, API tokens."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken, User
from accounts.services import authenticate_api_token, create_api_token, revoke_api_token
from smtpusers import services as smtp_services
from testing.http import page_text


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def sign_in(client, email, password):
    return client.post(reverse("accounts:login"), {"username": email, "password": password})


def field_errors(response, field) -> str:
    match = re.search(
        rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', response.content.decode(), re.S
    )
    return match.group(1) if match else ""


# --- sign in, lockout, sign out ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url_name", ["home", "tokens:list", "tokens:create", "accounts:password-change"]
)
def test_it_sends_anonymous_visitors_to_sign_in(client, url_name):
    url = reverse(url_name)

    response = client.get(url)

    assert response["Location"] == f"{reverse('accounts:login')}?next={url}"


def test_it_signs_in_and_lands_on_home(client, alice):
    response = client.post(
        reverse("accounts:login"),
        {"username": alice.login.email, "password": alice.password},
        follow=True,
    )

    assert response.redirect_chain == [(reverse("home"), 302)]
    assert response.context["user"] == alice.login
    assert "Signed in." in messages_of(response)


def test_it_signs_in_to_the_page_asked_for(client, alice):
    response = client.post(
        reverse("accounts:login"),
        {"username": alice.login.email, "password": alice.password, "next": "/smtp-users/"},
    )

    assert response["Location"] == "/smtp-users/"


def test_it_refuses_a_wrong_password_with_a_message(client, alice):
    response = sign_in(client, alice.login.email, "wrong-password")

    assert response.status_code == 200
    assert "Please enter a correct email address and password." in page_text(response)
    assert "_auth_user_id" not in client.session


def test_it_locks_a_login_out_after_repeated_failures_with_a_friendly_page(client, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, alice.login.email, "wrong-password").status_code == 200

    locked = sign_in(client, alice.login.email, "wrong-password")
    even_right = sign_in(client, alice.login.email, alice.password)

    assert locked.status_code == even_right.status_code == 429
    text = page_text(even_right)
    assert "Too many failed sign-ins" in text
    assert f"paused after {settings.AXES_FAILURE_LIMIT} failed attempts" in text
    assert "Please try again in 15 minutes." in text
    assert reverse("accounts:password-reset") in even_right.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_locks_out_only_the_login_that_failed(client, alice, bob):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, alice.login.email, "wrong-password")

    response = sign_in(client, bob.login.email, bob.password)

    assert response["Location"] == reverse("home")


def spray(client, count, password="Spring-2026"):
    """One failed sign-in for each of `count` different logins, as a password sprayer does."""
    return [sign_in(client, f"user{n}@spray.example", password) for n in range(count)]


def test_it_locks_out_an_address_that_fails_across_many_logins(client, alice):
    other_address = Client(REMOTE_ADDR="198.51.100.9")

    responses = spray(client, settings.LOGIN_ADDRESS_FAILURE_LIMIT)
    even_right = sign_in(client, alice.login.email, alice.password)
    elsewhere = sign_in(other_address, alice.login.email, alice.password)

    assert [response.status_code for response in responses] == [200] * (
        settings.LOGIN_ADDRESS_FAILURE_LIMIT - 1
    ) + [429]
    assert even_right.status_code == 429
    assert (
        f"signing in from this address is paused after {settings.LOGIN_ADDRESS_FAILURE_LIMIT} "
        "failed attempts across several logins" in page_text(even_right)
    )
    assert "_auth_user_id" not in client.session
    assert elsewhere["Location"] == reverse("home")


def test_it_keeps_an_addresss_failures_when_one_of_its_logins_signs_in(client, alice, bob):
    spray(client, settings.LOGIN_ADDRESS_FAILURE_LIMIT - 1)
    own_account = sign_in(client, bob.login.email, bob.password)
    client.post(reverse("accounts:logout"))

    last_try = sign_in(client, "one-more@spray.example", "Spring-2026")
    even_right = sign_in(client, alice.login.email, alice.password)

    assert own_account["Location"] == reverse("home")
    assert last_try.status_code == even_right.status_code == 429


def test_it_signs_out_by_post_only(alice_client):
    refused = alice_client.get(reverse("accounts:logout"))
    assert refused.status_code == 405
    assert "_auth_user_id" in alice_client.session

    response = alice_client.post(reverse("accounts:logout"), follow=True)

    assert response.redirect_chain == [(reverse("accounts:login"), 302)]
    assert "Signed out." in messages_of(response)
    assert "_auth_user_id" not in alice_client.session


def test_it_forbids_staff_logins_without_an_owner(client, db):
    staff = User.objects.create_user(email="staff@example.com", password="x", is_staff=True)
    client.force_login(staff)

    response = client.get(reverse("smtpusers:list"))

    assert response.status_code == 403


# --- passwords ----------------------------------------------------------------------------


def test_it_changes_the_password(alice_client, alice):
    response = alice_client.post(
        reverse("accounts:password-change"),
        {
            "old_password": alice.password,
            "new_password1": "A-brand-new-Passphrase-42",
            "new_password2": "A-brand-new-Passphrase-42",
        },
        follow=True,
    )

    assert "Your password has been changed." in messages_of(response)
    alice.login.refresh_from_db()
    assert alice.login.check_password("A-brand-new-Passphrase-42")
    assert "_auth_user_id" in alice_client.session


def test_it_refuses_a_password_change_with_a_wrong_current_password(alice_client, alice):
    response = alice_client.post(
        reverse("accounts:password-change"),
        {
            "old_password": "not-it",
            "new_password1": "A-brand-new-Passphrase-42",
            "new_password2": "A-brand-new-Passphrase-42",
        },
    )

    assert "Your old password was entered incorrectly" in field_errors(response, "old_password")
    alice.login.refresh_from_db()
    assert alice.login.check_password(alice.password)


def _reset_link(message) -> str:
    return re.search(r"https?://[^/]+(/accounts/password/reset/\S+/)", message.body).group(1)


def test_it_resets_a_forgotten_password_by_email(client, alice):
    sent = client.post(
        reverse("accounts:password-reset"), {"email": alice.login.email}, follow=True
    )
    assert "Check your email" in page_text(sent)
    (message,) = mail.outbox
    assert message.to == [alice.login.email]
    assert message.subject == "Reset your SMTP relay portal password"

    form_page = client.get(_reset_link(message), follow=True)
    assert "Set a new password" in page_text(form_page)
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "Reset-Passphrase-77", "new_password2": "Reset-Passphrase-77"},
        follow=True,
    )

    assert "Your password has been set. You can sign in now." in messages_of(done)
    alice.login.refresh_from_db()
    assert alice.login.check_password("Reset-Passphrase-77")
    used_again = client.get(_reset_link(message), follow=True)
    assert "This reset link is invalid or has already been used." in page_text(used_again)


def test_it_sends_no_email_for_an_unknown_address_and_says_the_same(client, db):
    response = client.post(
        reverse("accounts:password-reset"), {"email": "nobody@example.com"}, follow=True
    )

    assert "Check your email" in page_text(response)
    assert mail.outbox == []


def test_it_lifts_a_lockout_once_the_password_is_reset(client, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, alice.login.email, "wrong-password")
    client.post(reverse("accounts:password-reset"), {"email": alice.login.email})
    form_page = client.get(_reset_link(mail.outbox[0]), follow=True)
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "Reset-Passphrase-77", "new_password2": "Reset-Passphrase-77"},
    )

    response = sign_in(client, alice.login.email, "Reset-Passphrase-77")

    assert response["Location"] == reverse("home")


# --- home -------------------------------------------------------------------------------------


def test_it_shows_the_owners_counts_owner_id_and_api_snippets(alice_client, alice, bob):
    for _ in range(3):
        smtp_services.create_smtp_user(alice.owner, total_limit=10, hourly_limit=5)
    smtp_user, _ = smtp_services.create_smtp_user(alice.owner, total_limit=10, hourly_limit=5)
    smtp_services.update_smtp_user(
        alice.owner, smtp_user_name=smtp_user.smtp_user_name, status="Disable"
    )
    smtp_services.create_smtp_user(bob.owner, total_limit=10, hourly_limit=5)

    response = alice_client.get(reverse("home"))

    text = page_text(response)
    assert "3 enabled SMTP users" in text and "1 disabled SMTP user " in text
    body = response.content.decode()
    assert f'<code id="owner-id" class="secret">{alice.owner_id}</code>' in body
    assert (
        "curl -X POST http://testserver/v1.0/settings/listSmtp \\\n"
        f"  -H &quot;X-Key: {alice.owner_id}&quot; \\\n"
        "  -H &quot;X-Access-Token: YOUR_API_TOKEN&quot;"
    ) in body
    assert "import requests" in body and "&quot;X-Access-Token&quot;" in body
    for url_name in ("smtpusers:list", "smtpusers:create", "tokens:list"):
        assert f'href="{reverse(url_name)}' in body
    assert alice.token not in body


def test_it_counts_with_one_query_for_the_smtp_users(alice_client, django_assert_num_queries):
    # Session, login with its owner, and one aggregate for both counts.
    with django_assert_num_queries(3):
        alice_client.get(reverse("home"))


# --- API tokens -------------------------------------------------------------------------------


def test_it_lists_the_owners_tokens_without_their_secrets(alice_client, alice, bob):
    revoked, _ = create_api_token(alice.owner, name="old laptop")
    revoke_api_token(alice.owner, token_id=revoked.pk)
    create_api_token(bob.owner, name="bobs secret app")
    authenticate_api_token(alice.owner_id, alice.token)

    response = alice_client.get(reverse("tokens:list"))

    text = page_text(response)
    default = ApiToken.objects.get(owner=alice.owner, name="default")
    assert f"default {default.prefix}… " in text
    assert "Active" in text and "old laptop" in text and "Revoked" in text
    assert "never" in text  # the revoked token was never used
    body = response.content.decode()
    assert alice.token not in body and default.token_hash not in body
    assert "bobs secret app" not in body
    assert f'action="{reverse("tokens:revoke", args=[default.pk])}"' in body
    assert reverse("tokens:revoke", args=[revoked.pk]) not in body


def test_it_creates_a_token_and_shows_it_once(alice_client, alice):
    response = alice_client.post(reverse("tokens:create"), {"name": "billing app"}, follow=True)

    api_token = ApiToken.objects.get(owner=alice.owner, name="billing app")
    token = re.search(
        r'<code id="api-token" class="secret">([^<]+)</code>', response.content.decode()
    ).group(1)
    assert authenticate_api_token(alice.owner_id, token) == api_token
    assert "no-store" in response["Cache-Control"]
    assert "API token “billing app” created." in messages_of(response)
    assert f"X-Access-Token: {token}" in response.content.decode()
    listing = alice_client.get(reverse("tokens:list"))
    assert token not in listing.content.decode()


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "Token name is required"), ("x" * 101, "Token name must be at most 100 characters")],
)
def test_it_refuses_a_bad_token_name_inline(alice_client, alice, name, message):
    response = alice_client.post(reverse("tokens:create"), {"name": name})

    assert message in field_errors(response, "name")
    assert list(ApiToken.objects.filter(owner=alice.owner).values_list("name", flat=True)) == [
        "default"
    ]


def test_it_asks_before_revoking_and_changes_nothing_on_get(alice_client, alice):
    api_token = ApiToken.objects.get(owner=alice.owner)

    response = alice_client.get(reverse("tokens:revoke", args=[api_token.pk]))

    assert f"Revoke API token “default” ({api_token.prefix}…)?" in page_text(response)
    api_token.refresh_from_db()
    assert api_token.revoked_at is None


def test_it_revokes_a_token(alice_client, alice):
    api_token = ApiToken.objects.get(owner=alice.owner)

    response = alice_client.post(reverse("tokens:revoke", args=[api_token.pk]), follow=True)

    api_token.refresh_from_db()
    assert api_token.revoked_at is not None
    assert authenticate_api_token(alice.owner_id, alice.token) is None
    assert "API token “default” revoked." in messages_of(response)
    assert response.redirect_chain == [(reverse("tokens:list"), 302)]


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_answers_404_for_another_owners_token(alice_client, bob, method):
    bobs = ApiToken.objects.get(owner=bob.owner)

    response = getattr(alice_client, method)(reverse("tokens:revoke", args=[bobs.pk]))

    assert response.status_code == 404
    bobs.refresh_from_db()
    assert bobs.revoked_at is None
    assert authenticate_api_token(bob.owner_id, bob.token) == bobs


@pytest.mark.parametrize(
    ("url_name", "data"),
    [
        ("tokens:create", {"name": "sneaky"}),
        ("tokens:revoke", {}),
        ("accounts:password-change", {"old_password": "x", "new_password1": "y"}),
        ("accounts:logout", {}),
    ],
)
def test_it_refuses_posts_without_a_csrf_token(alice, url_name, data):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice.login)
    api_token = ApiToken.objects.get(owner=alice.owner)
    args = [api_token.pk] if url_name == "tokens:revoke" else []

    response = client.post(reverse(url_name, args=args), data)

    assert response.status_code == 403
    assert "CSRF" in response.content.decode()
    api_token.refresh_from_db()
    assert api_token.revoked_at is None
    assert ApiToken.objects.filter(owner=alice.owner).count() == 1
    assert "_auth_user_id" in client.session


def test_it_refuses_a_sign_in_without_a_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)

    response = sign_in(client, alice.login.email, alice.password)

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_it_signs_in_with_the_email_in_any_letter_case(client, alice):
    response = client.post(
        "/accounts/login/", {"username": "ALICE@Example.com", "password": alice.password}
    )
    assert response.status_code == 302
    assert client.get("/").context["user"] == alice.login


def test_it_locks_out_an_email_whatever_its_letter_case(client, alice, settings):
    for variant in [
        "alice@example.com",
        "ALICE@example.com",
        "Alice@Example.com",
        "alice@EXAMPLE.com",
        "aLiCe@example.com",
    ]:
        client.post("/accounts/login/", {"username": variant, "password": "wrong"})
    response = client.post(
        "/accounts/login/", {"username": "alice@example.COM", "password": alice.password}
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session

"""The dashboard's Domains pages: list, create, edit, delete, test-send."""

import pytest
from django.urls import reverse

from accounts.models import User
from relaysettings import selectors
from relaysettings.models import RelaySetting
from testing.email_settings import SEED_DOMAIN, create_setting
from testing.http import hidden_fields, page_text

PASSWORD = "itte574dsts485"


def form_data(**changes) -> dict:
    data = {
        "domain": "mail.example.com",
        "description": "Office relay",
        "from_address": "office@example.com",
        "host": "smtp.example.com",
        "port": "587",
        "tls_reject_unauthorized": "on",
        "auth_user": "office@example.com",
        "auth_password": "S3cret-relay-pass",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_it_lists_only_the_owners_domains(alice_client, alice, bob):
    create_setting(alice, domain="mail.bücher.example")
    create_setting(bob, domain="bob.example.com")

    page = alice_client.get(reverse("relaysettings:list")).content.decode()

    assert "mail.bücher.example" in page and "(mail.xn--bcher-kva.example)" in page
    assert "m.webitel.com:465" in page
    assert "bob.example.com" not in page
    assert PASSWORD not in page
    assert f'href="{reverse("relaysettings:list")}" aria-current="page">Domains</a>' in page


def test_it_shows_an_empty_list_with_a_way_to_add(alice_client):
    page = alice_client.get(reverse("relaysettings:list")).content.decode()

    assert "No domains yet." in page
    assert f'href="{reverse("relaysettings:create")}"' in page


def test_it_sends_anonymous_visitors_to_sign_in(client, db):
    response = client.get(reverse("relaysettings:list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_it_refuses_staff_logins_without_an_owner(client, db):
    staff = User.objects.create_user(email="staff@example.com", password="x", is_staff=True)
    client.force_login(staff)

    response = client.get(reverse("relaysettings:list"))

    assert response.status_code == 403


def test_it_creates_settings_from_the_form(alice_client, alice):
    response = alice_client.post(reverse("relaysettings:create"), form_data(), follow=True)

    stored = RelaySetting.objects.get()
    assert (stored.owner, stored.domain, stored.host, stored.port) == (
        alice.owner,
        "mail.example.com",
        "smtp.example.com",
        587,
    )
    assert (stored.secure, stored.tls_reject_unauthorized, stored.debug) == (False, True, False)
    assert selectors.auth_password_of(stored) == "S3cret-relay-pass"
    assert "Relay settings for mail.example.com created." in response.content.decode()
    assert "S3cret-relay-pass" not in response.content.decode()


def test_it_shows_the_services_errors_next_to_the_fields(alice_client):
    response = alice_client.post(
        reverse("relaysettings:create"),
        form_data(domain="bad_domain", port="70000", from_address="nobody", host=""),
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert RelaySetting.objects.count() == 0
    form = response.context["form"]
    assert form.errors == {
        "domain": ["domain must be a domain name such as mail.example.com"],
        "from_address": ["from must be an email address"],
        "host": ["host is required"],
        "port": ["port must be an integer from 1 to 65535"],
    }
    assert 'aria-invalid="true"' in page
    assert "port must be an integer from 1 to 65535" in page
    # What the customer typed stays, except the password.
    assert 'value="bad_domain"' in page
    assert "S3cret-relay-pass" not in page


def test_it_refuses_a_domain_that_already_has_settings(alice_client, alice):
    create_setting(alice, domain="mail.example.com")

    response = alice_client.post(
        reverse("relaysettings:create"), form_data(domain="MAIL.example.com")
    )

    assert response.context["form"].errors == {
        "domain": ["mail.example.com already has email settings; edit them instead"]
    }
    assert RelaySetting.objects.get().host == "m.webitel.com"


def test_it_asks_for_a_password_with_a_new_user_name(alice_client):
    response = alice_client.post(reverse("relaysettings:create"), form_data(auth_password=""))

    assert response.context["form"].errors == {"auth_password": ["pass is required"]}
    assert not RelaySetting.objects.exists()


def test_it_creates_an_unauthenticated_relay_without_user_and_password(alice_client):
    alice_client.post(reverse("relaysettings:create"), form_data(auth_user="", auth_password=""))

    stored = RelaySetting.objects.get()
    assert (stored.auth_user, stored.auth_password_encrypted) == ("", "")


def test_it_edits_settings_and_never_renders_the_password(alice_client, alice):
    create_setting(alice)
    url = reverse("relaysettings:edit", args=[SEED_DOMAIN])

    page = alice_client.get(url).content.decode()
    response = alice_client.post(
        url,
        form_data(
            domain=None,
            description="Changed",
            port="2525",
            auth_user="my@webitel.com",
            auth_password="",
        ),
    )

    assert PASSWORD not in page
    assert 'name="auth_password"' in page and 'value="my@webitel.com"' in page
    assert "Leave blank to keep the stored password." in page
    assert response.status_code == 302
    stored = RelaySetting.objects.get()
    assert (stored.description, stored.port, stored.domain) == ("Changed", 2525, SEED_DOMAIN)
    assert selectors.auth_password_of(stored) == PASSWORD


def test_it_replaces_the_password_when_a_new_one_is_typed(alice_client, alice):
    create_setting(alice)

    alice_client.post(
        reverse("relaysettings:edit", args=[SEED_DOMAIN]),
        form_data(domain=None, auth_user="my@webitel.com", auth_password="brand-new-pass"),
    )

    assert selectors.auth_password_of(RelaySetting.objects.get()) == "brand-new-pass"


def test_it_removes_authentication_when_asked(alice_client, alice):
    create_setting(alice)

    alice_client.post(
        reverse("relaysettings:edit", args=[SEED_DOMAIN]),
        form_data(domain=None, auth_user="my@webitel.com", auth_password="", remove_auth="on"),
    )

    stored = RelaySetting.objects.get()
    assert (stored.auth_user, stored.auth_password_encrypted) == ("", "")


def test_it_keeps_the_record_when_an_edit_is_invalid(alice_client, alice):
    create_setting(alice)

    response = alice_client.post(
        reverse("relaysettings:edit", args=[SEED_DOMAIN]), form_data(domain=None, port="0")
    )

    assert response.context["form"].errors == {"port": ["port must be an integer from 1 to 65535"]}
    assert RelaySetting.objects.get().port == 465


def test_it_deletes_after_confirmation(alice_client, alice):
    create_setting(alice)
    url = reverse("relaysettings:delete", args=[SEED_DOMAIN])

    confirmation = alice_client.get(url).content.decode()
    still_there = RelaySetting.objects.count()
    response = alice_client.post(url, follow=True)

    assert f"Delete {SEED_DOMAIN}?" in confirmation
    assert still_there == 1
    assert not RelaySetting.objects.exists()
    assert f"Relay settings for {SEED_DOMAIN} deleted." in response.content.decode()


@pytest.mark.parametrize("name", ["edit", "delete", "test-send"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_it_answers_404_for_another_owners_domain(bob_client, alice, name, method):
    create_setting(alice)

    response = getattr(bob_client, method)(
        reverse(f"relaysettings:{name}", args=[SEED_DOMAIN]),
        form_data(domain=None, to="x@example.com"),
    )

    assert response.status_code == 404
    stored = RelaySetting.objects.get()
    assert (stored.owner, stored.description) == (alice.owner, "My Setting")


@pytest.mark.parametrize("domain", ["missing.example.com", "not_a_domain"])
def test_it_answers_404_for_missing_or_malformed_domains(alice_client, domain):
    response = alice_client.get(reverse("relaysettings:edit", args=[domain]))

    assert response.status_code == 404


def relaying_test_server(tenant, smtp_server):
    """A test SMTP server taking relay-user's login, and the seed domain's settings for it."""
    server = smtp_server(users={"relay-user": "relay-pass"})
    create_setting(
        tenant,
        options__host=server.host,
        options__port=server.port,
        options__secure=False,
        options__auth__user="relay-user",
        options__auth__pass="relay-pass",
    )
    return server


def test_it_sends_a_test_message_from_the_dashboard(alice_client, alice, smtp_server):
    server = relaying_test_server(alice, smtp_server)
    url = reverse("relaysettings:test-send", args=[SEED_DOMAIN])

    form_page = alice_client.get(url).content.decode()
    response = alice_client.post(url, {"to": "inbox@example.net"}, follow=True)

    assert 'value="alice@example.com"' in form_page
    assert "relay-pass" not in form_page
    page = response.content.decode()
    assert "Sent: the server accepted the test message for inbox@example.net." in page
    [received] = server.messages
    assert (received.recipients, received.login) == (["inbox@example.net"], "relay-user")
    assert received.message["From"] == "my@webitel.com"


def test_it_shows_the_upstreams_error_verbatim(alice_client, alice, smtp_server):
    server = smtp_server(users={"relay-user": "relay-pass"})
    create_setting(
        alice,
        options__host=server.host,
        options__port=server.port,
        options__secure=False,
        options__auth__user="relay-user",
        options__auth__pass="wrong",
    )

    response = alice_client.post(
        reverse("relaysettings:test-send", args=[SEED_DOMAIN]), {"to": "inbox@example.net"}
    )

    page = response.content.decode()
    assert "Sending failed." in page
    assert (
        '<code class="upstream-reply">535 5.7.8 Authentication credentials invalid</code>' in page
    )
    assert server.messages == []


def test_it_shows_a_bad_recipient_next_to_the_field(alice_client, alice, smtp_server):
    server = smtp_server()
    create_setting(alice, options__host=server.host, options__port=server.port)

    response = alice_client.post(
        reverse("relaysettings:test-send", args=[SEED_DOMAIN]), {"to": "nobody"}
    )

    assert response.context["form"].errors == {"to": ["to must be an email address"]}
    assert server.messages == []


def test_it_sends_a_test_message_once_however_often_the_form_is_sent(
    alice_client, alice, smtp_server
):
    server = relaying_test_server(alice, smtp_server)
    url = reverse("relaysettings:test-send", args=[SEED_DOMAIN])
    fields = {**hidden_fields(alice_client.get(url)), "to": "inbox@example.net"}

    first = alice_client.post(url, fields, follow=True)
    again = alice_client.post(url, fields, follow=True)
    reloaded = alice_client.get(url)

    assert first.redirect_chain == [(url, 302)]
    assert "Sent: the server accepted the test message for inbox@example.net." in page_text(first)
    assert "Already done" in page_text(again)
    assert "Sent:" not in page_text(reloaded)
    assert len(server.messages) == 1

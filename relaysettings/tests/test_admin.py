"""The staff admin of email settings: listing, searching, a write-only password, saves through
the services."""

from django.urls import reverse

from relaysettings import selectors
from relaysettings.models import RelaySetting
from testing.email_settings import SEED_DOMAIN, create_setting

PASSWORD = "itte574dsts485"


def change_form(relay_setting, **changes) -> dict:
    data = {
        "description": relay_setting.description,
        "from_address": relay_setting.from_address,
        "host": relay_setting.host,
        "port": str(relay_setting.port),
        "auth_user": relay_setting.auth_user,
        "new_password": "",
    }
    for flag in ("secure", "tls_reject_unauthorized", "debug"):
        if getattr(relay_setting, flag):
            data[flag] = "on"
    data.update(changes)
    return data


def test_it_lists_and_searches_settings_in_few_queries(
    superuser_client, alice, bob, django_assert_max_num_queries
):
    for number in range(5):
        create_setting(alice, domain=f"d{number}.alice.example.com")
    create_setting(bob, domain="bob.example.com")
    url = reverse("admin:relaysettings_relaysetting_changelist")

    with django_assert_max_num_queries(8):
        listing = superuser_client.get(url).content.decode()
    by_owner_name = superuser_client.get(url, {"q": "Bob"}).content.decode()
    by_owner_id = superuser_client.get(url, {"q": alice.owner_id}).content.decode()
    by_domain = superuser_client.get(url, {"q": "d3.alice"}).content.decode()

    assert "d0.alice.example.com" in listing and "bob.example.com" in listing
    assert PASSWORD not in listing
    assert "bob.example.com" in by_owner_name and "d0.alice" not in by_owner_name
    assert "d4.alice.example.com" in by_owner_id and "bob.example.com" not in by_owner_id
    assert "d3.alice.example.com" in by_domain and "d2.alice" not in by_domain


def test_it_never_shows_the_password_on_the_change_page(superuser_client, alice):
    relay_setting = create_setting(alice)

    page = superuser_client.get(
        reverse("admin:relaysettings_relaysetting_change", args=[relay_setting.pk])
    ).content.decode()

    assert PASSWORD not in page
    assert relay_setting.auth_password_encrypted not in page
    assert "set (hidden)" in page
    assert 'name="new_password"' in page


def test_it_keeps_the_password_when_the_new_one_is_left_blank(superuser_client, alice):
    relay_setting = create_setting(alice)
    url = reverse("admin:relaysettings_relaysetting_change", args=[relay_setting.pk])

    response = superuser_client.post(
        url, change_form(relay_setting, description="Edited by support")
    )

    assert response.status_code == 302
    stored = RelaySetting.objects.get()
    assert (stored.description, stored.public_id) == ("Edited by support", relay_setting.public_id)
    assert selectors.auth_password_of(stored) == PASSWORD


def test_it_sets_a_new_password(superuser_client, alice):
    relay_setting = create_setting(alice)
    url = reverse("admin:relaysettings_relaysetting_change", args=[relay_setting.pk])

    superuser_client.post(url, change_form(relay_setting, new_password="support-set-this"))

    assert selectors.auth_password_of(RelaySetting.objects.get()) == "support-set-this"
    history = superuser_client.get(
        reverse("admin:relaysettings_relaysetting_history", args=[relay_setting.pk])
    ).content.decode()
    assert "support-set-this" not in history


def test_it_removes_authentication_when_the_user_name_is_cleared(superuser_client, alice):
    relay_setting = create_setting(alice)
    url = reverse("admin:relaysettings_relaysetting_change", args=[relay_setting.pk])

    superuser_client.post(url, change_form(relay_setting, auth_user=""))

    stored = RelaySetting.objects.get()
    assert (stored.auth_user, stored.auth_password_encrypted) == ("", "")


def test_it_shows_the_services_errors_and_saves_nothing(superuser_client, alice):
    relay_setting = create_setting(alice)
    url = reverse("admin:relaysettings_relaysetting_change", args=[relay_setting.pk])

    response = superuser_client.post(url, change_form(relay_setting, port="0", host="bad host!"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "host": ["host must be a host name or an IP address"],
        "port": ["port must be an integer from 1 to 65535"],
    }
    stored = RelaySetting.objects.get()
    assert (stored.port, stored.host) == (465, "m.webitel.com")


def test_it_adds_settings_for_an_owner(superuser_client, alice):
    response = superuser_client.post(
        reverse("admin:relaysettings_relaysetting_add"),
        {
            "owner": alice.owner.pk,
            "domain": "Support.Example.COM",
            "from_address": "support@example.com",
            "host": "smtp.example.com",
            "port": "25",
            "tls_reject_unauthorized": "on",
            "auth_user": "relay",
            "new_password": "added-by-support",
        },
    )

    assert response.status_code == 302
    stored = RelaySetting.objects.get()
    assert (stored.owner, stored.domain, stored.port) == (alice.owner, "support.example.com", 25)
    assert selectors.auth_password_of(stored) == "added-by-support"


def test_it_refuses_to_add_a_domain_the_owner_already_has(superuser_client, alice):
    create_setting(alice)

    response = superuser_client.post(
        reverse("admin:relaysettings_relaysetting_add"),
        {
            "owner": alice.owner.pk,
            "domain": SEED_DOMAIN,
            "from_address": "a@example.com",
            "host": "smtp.example.com",
            "port": "25",
        },
    )

    assert response.context["adminform"].form.errors == {
        "domain": [f"{SEED_DOMAIN} already has email settings; edit them instead"]
    }
    assert RelaySetting.objects.get().host == "m.webitel.com"


def test_it_deletes_through_the_service(superuser_client, alice, bob):
    alices = create_setting(alice)
    bobs = create_setting(bob)

    superuser_client.post(
        reverse("admin:relaysettings_relaysetting_delete", args=[alices.pk]), {"post": "yes"}
    )
    after_single = list(RelaySetting.objects.all())
    superuser_client.post(
        reverse("admin:relaysettings_relaysetting_changelist"),
        {"action": "delete_selected", "_selected_action": [bobs.pk], "post": "yes"},
    )

    assert after_single == [bobs]
    assert not RelaySetting.objects.exists()

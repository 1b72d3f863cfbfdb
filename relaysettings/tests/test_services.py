"""The services: the one place that changes email settings (and what they store)."""

import threading

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from core.errors import InvalidFieldsError, NotFoundError, ServiceError
from relaysettings import selectors, services
from relaysettings.models import RelaySetting
from testing.email_settings import SEED_DOMAIN, create_setting, seed_record

PASSWORD = "itte574dsts485"


def test_it_never_stores_the_password_in_plain_text(alice):
    relay_setting = create_setting(alice)

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM relaysettings_relaysetting WHERE id = %s", [relay_setting.pk])
        row = cursor.fetchone()

    assert not any(PASSWORD in str(column) for column in row)
    assert relay_setting.auth_password_encrypted in row
    assert selectors.auth_password_of(RelaySetting.objects.get()) == PASSWORD


def test_it_keeps_the_stored_password_when_asked_to_and_given_none(alice):
    create_setting(alice)

    relay_setting, created = services.save_relay_setting(
        alice.owner,
        domain=SEED_DOMAIN,
        data=seed_record(options__auth__pass="", options__auth__user="other@webitel.com"),
        keep_password_if_blank=True,
    )

    assert created is False
    assert relay_setting.auth_user == "other@webitel.com"
    assert selectors.auth_password_of(RelaySetting.objects.get()) == PASSWORD


def test_it_needs_a_password_for_a_new_login_even_when_blank_may_keep_one(alice):
    record = seed_record(options__auth__pass="")

    with pytest.raises(InvalidFieldsError) as raised:
        services.save_relay_setting(
            alice.owner, domain=SEED_DOMAIN, data=record, keep_password_if_blank=True
        )

    assert raised.value.errors == {"options.auth.pass": "pass is required"}
    assert not RelaySetting.objects.exists()


def test_it_forgets_user_and_password_when_auth_is_left_out(alice):
    create_setting(alice)
    record = seed_record()
    del record["options"]["auth"]

    services.save_relay_setting(alice.owner, domain=SEED_DOMAIN, data=record)

    stored = RelaySetting.objects.get()
    assert (stored.auth_user, stored.auth_password_encrypted) == ("", "")
    assert selectors.auth_password_of(stored) is None


def test_it_refuses_to_create_a_domain_twice_when_creating_only(alice):
    create_setting(alice)

    with pytest.raises(ServiceError) as raised:
        services.save_relay_setting(
            alice.owner,
            domain=SEED_DOMAIN.upper(),
            data=seed_record(description="x"),
            create_only=True,
        )

    assert raised.value.field == "domain"
    assert raised.value.message == f"{SEED_DOMAIN} already has email settings; edit them instead"
    assert RelaySetting.objects.get().description == "My Setting"


def test_it_refuses_to_replace_a_missing_record_when_replacing_only(alice, bob):
    create_setting(bob)

    with pytest.raises(NotFoundError):
        services.save_relay_setting(
            alice.owner, domain=SEED_DOMAIN, data=seed_record(), replace_only=True
        )

    assert list(RelaySetting.objects.values_list("owner", flat=True)) == [bob.owner.pk]


def _create_in_another_connection(**fields):
    """A competing request: its own database connection, committed before we go on."""
    created = []

    def create():
        try:
            created.append(RelaySetting.objects.bulk_create([RelaySetting(**fields)])[0])
        finally:
            connection.close()

    thread = threading.Thread(target=create)
    thread.start()
    thread.join()
    return created[0]


def test_it_updates_the_record_another_request_created_meanwhile(
    transactional_db, alice, monkeypatch
):
    """Our insert loses the race with a concurrent create: the retry replaces that record."""
    original_save = RelaySetting.save
    competitor = []

    def save_after_a_competitor(self, *args, **kwargs):
        if not competitor:
            competitor.append(
                _create_in_another_connection(
                    owner=alice.owner,
                    domain=SEED_DOMAIN,
                    from_address="a@b.com",
                    host="competitor.example.com",
                    port=25,
                )
            )
        return original_save(self, *args, **kwargs)

    monkeypatch.setattr(RelaySetting, "save", save_after_a_competitor)

    relay_setting, created = services.save_relay_setting(
        alice.owner, domain=SEED_DOMAIN, data=seed_record()
    )

    stored = RelaySetting.objects.get()
    assert created is False
    assert stored.public_id == competitor[0].public_id == relay_setting.public_id
    assert stored.host == "m.webitel.com"


def test_it_deletes_only_the_owners_record(alice, bob):
    create_setting(alice)
    bobs = create_setting(bob)

    removed = services.delete_relay_setting(alice.owner, domain="MY.WEBITEL.COM")
    removed_again = services.delete_relay_setting(alice.owner, domain=SEED_DOMAIN)

    assert (removed, removed_again) == (1, 0)
    assert list(RelaySetting.objects.all()) == [bobs]


def test_it_lists_an_owners_settings_by_domain(alice, bob):
    create_setting(alice, domain="b.example.com")
    create_setting(alice, domain="a.example.com")
    create_setting(bob, domain="c.example.com")

    domains = [setting.domain for setting in selectors.relay_settings_for(alice.owner)]

    assert domains == ["a.example.com", "b.example.com"]


def test_it_reads_a_domains_settings_and_keys_as_stored_and_only_the_owners(alice, bob):
    stored = create_setting(alice)
    RelaySetting.objects.filter(pk=stored.pk).update(dns_findings={"spf": {"status": "found"}})
    create_setting(bob)

    relay_setting, keys = selectors.relay_setting_and_keys(alice.owner, "My.Webitel.com")

    stored.refresh_from_db()
    assert model_to_dict(relay_setting) == model_to_dict(stored)
    assert relay_setting.dns_findings == {"spf": {"status": "found"}}
    assert keys and keys == list(stored.dkim_keys.order_by("created_at", "id"))
    assert all(key.relay_setting_id == stored.pk for key in keys)
    with pytest.raises(NotFoundError):
        selectors.relay_setting_and_keys(alice.owner, "other.example.com")

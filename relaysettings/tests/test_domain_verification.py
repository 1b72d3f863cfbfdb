"""Verified sending domains (API.md §5): the ownership proof and DKIM records in DNS, checked
against a real DNS server on loopback (testing.dns), through the API, the services and the
periodic command."""

import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEvent
from relaysettings import services
from relaysettings.models import DkimKey, RelaySetting
from testing.dns import verified_domain
from testing.email_settings import (
    PREFIXES,
    SEED_DOMAIN,
    call,
    create_setting,
    seed_fields,
    seed_record,
    send_test_url,
    settings_url,
)

NOT_FOUND = {"status": "error", "info": "Not found!"}


def verify_url(prefix: str = "/api/v2", **query) -> str:
    return settings_url(prefix, **query).replace("/email/settings", "/email/settings/verify")


def verify(client, tenant, domain=SEED_DOMAIN, prefix="/api/v2"):
    return call(client, "POST", verify_url(prefix, domain=domain), headers=tenant.headers)


def test_it_answers_the_extras_beside_the_seed_fields(client, alice):
    response = call(
        client, "POST", settings_url(domain=SEED_DOMAIN), headers=alice.headers, body=seed_record()
    )

    body = response.json()
    relay_setting = RelaySetting.objects.get()
    key = DkimKey.objects.get()
    assert seed_fields(body) == {"_id": body["_id"], **seed_record(), "domain": SEED_DOMAIN}
    assert body["verification"] == {
        "status": "pending",
        "txt_name": "_smtprelay.my.webitel.com",
        "txt_value": f"smtprelay-verification={relay_setting.verification_token}",
        "checked_at": None,
        "detail": None,
    }
    assert re.fullmatch(r"[0-9a-f]{32}", relay_setting.verification_token)
    assert body["dkim"] == {
        "selector": key.selector,
        "txt_name": f"{key.selector}._domainkey.my.webitel.com",
        "txt_value": f"v=DKIM1; k=rsa; p={key.public_key}",
        "status": "pending",
    }
    assert (key.state, len(key.public_key) > 350) == ("active", True)
    assert "PRIVATE" not in key.private_key_encrypted


@pytest.mark.parametrize("prefix", PREFIXES)
def test_it_verifies_a_domain_once_its_txt_record_is_published(client, alice, dns_zone, prefix):
    relay_setting = create_setting(alice)

    before = verify(client, alice, prefix=prefix)
    dns_zone.publish_verification(relay_setting)
    after = verify(client, alice, prefix=prefix)

    assert before.status_code == 200
    assert before.json()["verification"]["status"] == "failed"
    assert before.json()["verification"]["detail"] == (
        f"No TXT record 'smtprelay-verification={relay_setting.verification_token}' at "
        "_smtprelay.my.webitel.com yet"
    )
    assert after.status_code == 200
    verification = after.json()["verification"]
    assert (verification["status"], verification["detail"]) == ("verified", None)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", verification["checked_at"])
    assert RelaySetting.objects.get().verification_status == "verified"
    assert ("_smtprelay.my.webitel.com", "TXT") in dns_zone.queries
    assert AuditEvent.objects.filter(action="relay_setting.verification").count() == 2


def test_it_fails_a_wrong_value_with_the_reason(client, alice, dns_zone):
    create_setting(alice)
    dns_zone.publish_txt("_smtprelay.my.webitel.com", "smtprelay-verification=not-the-token")

    response = verify(client, alice)

    token = RelaySetting.objects.get().verification_token
    assert response.json()["verification"]["status"] == "failed"
    assert response.json()["verification"]["detail"] == (
        "The TXT record at _smtprelay.my.webitel.com is 'smtprelay-verification=not-the-token'; "
        f"it must be 'smtprelay-verification={token}'"
    )


def test_it_lets_only_one_owner_verify_a_domain(client, alice, bob, dns_zone):
    verified_domain(alice.owner, dns_zone, SEED_DOMAIN, seed_record())
    # Bob stores settings for the same domain (allowed) and even gets his token published.
    bobs = create_setting(bob, domain="MY.Webitel.COM.")
    dns_zone.publish_verification(bobs)

    response = verify(client, bob, domain="my.webitel.com")

    assert response.status_code == 200
    assert response.json()["verification"]["status"] == "failed"
    assert response.json()["verification"]["detail"] == (
        "my.webitel.com is already verified by another account; a domain sends for one account only"
    )
    statuses = dict(RelaySetting.objects.values_list("owner__name", "verification_status"))
    assert statuses == {"Alice": "verified", "Bob": "failed"}


def test_it_treats_case_trailing_dot_and_unicode_forms_as_one_domain(client, alice, dns_zone):
    create_setting(alice, domain="Bücher.Example")
    relay_setting = RelaySetting.objects.get()
    dns_zone.publish_verification(relay_setting)

    response = verify(client, alice, domain="XN--BCHER-KVA.example.")

    assert relay_setting.domain == "xn--bcher-kva.example"
    assert response.json()["verification"]["txt_name"] == "_smtprelay.xn--bcher-kva.example"
    assert response.json()["verification"]["status"] == "verified"


def test_it_answers_an_unreachable_dns_server_as_failed_with_a_detail(client, alice, settings):
    # The kit's default DNS_RESOLVER: a loopback port nobody answers on.
    create_setting(alice)

    response = verify(client, alice)

    assert response.status_code == 200
    assert response.json()["verification"]["status"] == "failed"
    assert response.json()["verification"]["detail"] == (
        "DNS check failed: No answer from the DNS server within 0.5 s looking up "
        "_smtprelay.my.webitel.com"
    )


def test_it_keeps_a_verified_domain_verified_when_dns_cannot_answer(alice, dns_zone, settings):
    verified_domain(alice.owner, dns_zone, SEED_DOMAIN, seed_record())
    settings.DNS_RESOLVER = "127.0.0.1:9"
    settings.DNS_TIMEOUT_SECONDS = 0.3

    relay_setting = services.verify_domain(alice.owner, domain=SEED_DOMAIN)

    assert relay_setting.verification_status == "verified"
    assert relay_setting.verification_detail.startswith("The last check could not be completed")


def test_it_answers_verify_without_settings_as_get_does(client, alice):
    missing = verify(client, alice)
    no_domain = call(client, "POST", verify_url(), headers=alice.headers)

    assert (missing.status_code, missing.json()) == (404, NOT_FOUND)
    assert (no_domain.status_code, no_domain.json()) == (
        400,
        {"status": "error", "info": "Bad request (domain required)."},
    )


def test_it_accepts_a_body_sent_back_with_its_extras_and_ignores_them(client, alice):
    create_setting(alice)
    url = settings_url(domain=SEED_DOMAIN)
    answer = call(client, "GET", url, headers=alice.headers).json()
    answer["verification"]["status"] = "verified"
    answer["description"] = "Changed"

    response = call(client, "PUT", url, headers=alice.headers, body=answer)

    assert response.status_code == 200
    assert response.json()["description"] == "Changed"
    assert response.json()["verification"]["status"] == "pending"
    assert RelaySetting.objects.get().verification_status == "pending"


def test_it_fails_a_verified_domain_whose_record_disappears_and_tells_the_owner(
    alice, dns_zone, mailoutbox
):
    relay_setting = verified_domain(alice.owner, dns_zone, SEED_DOMAIN, seed_record())
    assert relay_setting.verification_due_at > timezone.now() + timedelta(hours=23)
    RelaySetting.objects.update(verification_due_at=timezone.now())
    dns_zone.remove("_smtprelay.my.webitel.com")

    output = io.StringIO()
    call_command("verifydomains", stdout=output)

    relay_setting.refresh_from_db()
    assert relay_setting.verification_status == "failed"
    assert relay_setting.verification_detail.startswith("No TXT record")
    assert output.getvalue() == "Checked 1 domain(s).\n"
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["alice@example.com"]
    assert mailoutbox[0].subject == "my.webitel.com can no longer send mail through the relay"
    assert "_smtprelay.my.webitel.com" in mailoutbox[0].body


def test_it_checks_unverified_domains_hourly_for_a_week_then_on_demand_only(alice, dns_zone):
    relay_setting = create_setting(alice)
    now = timezone.now()

    first = services.verify_due_domains(now=now)
    relay_setting.refresh_from_db()
    hourly = relay_setting.verification_due_at
    not_due = services.verify_due_domains(now=now + timedelta(minutes=30))
    week_later = now + timedelta(days=8)
    RelaySetting.objects.update(verification_due_at=week_later)
    services.verify_due_domains(now=week_later)
    relay_setting.refresh_from_db()

    assert (first, not_due) == (1, 0)
    assert hourly == now + timedelta(hours=1)
    assert relay_setting.verification_status == "failed"
    assert relay_setting.verification_due_at is None


def test_it_refuses_a_test_send_from_an_unverified_domain(client, alice, domain_verification):
    create_setting(alice)

    response = call(
        client, "POST", send_test_url("to@example.net", domain=SEED_DOMAIN), headers=alice.headers
    )

    assert response.status_code == 400
    assert response.json() == {
        "status": "error",
        "info": "Domain my.webitel.com is not verified: publish its TXT record "
        "_smtprelay.my.webitel.com (see the Domains page) and verify it",
    }


def test_it_rotates_the_dkim_key_once_the_new_record_is_seen(client, alice, dns_zone, settings):
    verified_domain(alice.owner, dns_zone, SEED_DOMAIN, seed_record())
    old = DkimKey.objects.get()

    new = services.start_dkim_rotation(alice.owner, domain=SEED_DOMAIN)
    waiting = verify(client, alice).json()
    dns_zone.publish_dkim(new)
    switched = verify(client, alice).json()
    old.refresh_from_db()
    retire_at = old.retire_at
    services.verify_due_domains(now=retire_at + timedelta(seconds=1))

    assert (waiting["dkim"]["selector"], waiting["dkim_next"]["selector"]) == (
        old.selector,
        new.selector,
    )
    assert waiting["dkim_next"]["status"] == "failed"
    assert switched["dkim"] == {
        "selector": new.selector,
        "txt_name": f"{new.selector}._domainkey.my.webitel.com",
        "txt_value": f"v=DKIM1; k=rsa; p={new.public_key}",
        "status": "verified",
    }
    assert "dkim_next" not in switched
    assert old.state == "retiring"
    assert timedelta(days=6) < retire_at - timezone.now() <= timedelta(days=7)
    assert list(DkimKey.objects.values_list("selector", "state")) == [(new.selector, "active")]


def test_it_refuses_a_second_rotation_while_one_waits(alice):
    create_setting(alice)
    services.start_dkim_rotation(alice.owner, domain=SEED_DOMAIN)

    with pytest.raises(services.ServiceError) as raised:
        services.start_dkim_rotation(alice.owner, domain=SEED_DOMAIN)

    assert raised.value.message == (
        "A new DKIM key for my.webitel.com is already waiting: publish its record, then check DNS"
    )
    assert DkimKey.objects.filter(state="next").count() == 1

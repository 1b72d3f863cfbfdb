"""The Domains page's DNS records (issue 16): per domain, the records to publish, names as DNS
hosts ask for them, what the last check found, and the Check DNS / Rotate DKIM buttons."""

import pytest
from django.urls import reverse

from relaysettings.models import DkimKey, RelaySetting
from testing.email_settings import SEED_DOMAIN, create_setting

LIST_URL = "/domains/"


def dns_section(response, domain=SEED_DOMAIN) -> str:
    html = response.content.decode()
    start = html.index(f'id="dns-{domain}"')
    return html[start : html.index("</section>", start)]


def test_it_shows_the_records_to_publish_before_any_check(alice_client, alice):
    relay_setting = create_setting(alice)
    key = DkimKey.objects.get()

    section = dns_section(alice_client.get(LIST_URL))

    assert f"smtprelay-verification={relay_setting.verification_token}" in section
    assert "_smtprelay.my.webitel.com" in section
    assert f"v=DKIM1; k=rsa; p={key.public_key}" in section
    assert "v=spf1 a:m.webitel.com ~all" in section
    assert "v=DMARC1; p=none" in section
    assert section.count("Not checked yet") == 5


def test_it_checks_dns_from_the_page_and_shows_each_records_status(alice_client, alice, dns_zone):
    relay_setting = create_setting(alice)
    dns_zone.publish_verification(relay_setting)
    dns_zone.publish_txt("my.webitel.com", "v=spf1 include:_spf.example.net -all")

    response = alice_client.post(f"/domains/{SEED_DOMAIN}/verify/", follow=True)

    assert response.redirect_chain == [(f"{LIST_URL}#dns-{SEED_DOMAIN}", 302)]
    assert "my.webitel.com is verified: its mail can be sent and is DKIM-signed." in (
        response.content.decode()
    )
    section = dns_section(response)
    # The test zone is webitel.com: names relative to it, as DNS hosts ask.
    assert ">_smtprelay.my</code>" in section
    assert "full name: _smtprelay.my.webitel.com" in section
    assert section.count("record-found") == 1
    assert section.count("record-missing") == 2  # DKIM and DMARC
    assert "The SPF record does not name the upstream server m.webitel.com" in section
    assert "v=spf1 include:_spf.example.net a:m.webitel.com -all" in section
    assert "Last checked" in section
    assert RelaySetting.objects.get().verification_status == "verified"


def test_it_says_why_a_domain_is_not_verified_yet(alice_client, alice, dns_zone):
    create_setting(alice)

    response = alice_client.post(f"/domains/{SEED_DOMAIN}/verify/", follow=True)

    assert "my.webitel.com is not verified yet: No TXT record" in response.content.decode()


def test_it_starts_a_dkim_key_rotation_from_the_page(alice_client, alice):
    create_setting(alice)

    response = alice_client.post(f"/domains/{SEED_DOMAIN}/rotate-dkim/", follow=True)

    new = DkimKey.objects.get(state="next")
    assert f"New DKIM key {new.selector} created" in response.content.decode()
    assert "DKIM new key (publish it: signing switches once it is seen)" in dns_section(response)
    assert f"{new.selector}._domainkey.my.webitel.com" in dns_section(response)


@pytest.mark.parametrize("action", ["verify", "rotate-dkim"])
def test_it_keeps_other_owners_domains_out_of_reach(bob_client, alice, action):
    create_setting(alice)

    response = bob_client.post(f"/domains/{SEED_DOMAIN}/{action}/")

    assert response.status_code == 404
    assert DkimKey.objects.count() == 1
    assert RelaySetting.objects.get().verification_checked_at is None


def test_it_only_changes_on_post(alice_client, alice):
    create_setting(alice)

    response = alice_client.get(f"/domains/{SEED_DOMAIN}/verify/")

    assert response.status_code == 405
    assert RelaySetting.objects.get().verification_checked_at is None


def test_staff_verify_domains_and_rotate_keys_with_admin_actions(
    client, superuser, alice, bob, dns_zone
):
    alices = create_setting(alice)
    create_setting(bob, domain="bob.example.com")
    dns_zone.publish_verification(alices)
    client.force_login(superuser.user)
    url = reverse("admin:relaysettings_relaysetting_changelist")
    selected = [str(pk) for pk in RelaySetting.objects.values_list("pk", flat=True)]

    verified = client.post(
        url, {"action": "verify_domains", "_selected_action": selected}, follow=True
    )
    rotated = client.post(
        url, {"action": "rotate_dkim_keys", "_selected_action": selected}, follow=True
    )

    assert "Checked bob.example.com: failed; my.webitel.com: verified." in (
        verified.content.decode()
    )
    assert dict(RelaySetting.objects.values_list("domain", "verification_status")) == {
        "my.webitel.com": "verified",
        "bob.example.com": "failed",
    }
    assert rotated.status_code == 200
    assert DkimKey.objects.filter(state="next").count() == 2

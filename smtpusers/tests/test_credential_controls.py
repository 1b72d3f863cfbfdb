"""Daily limits, usage of every window, last use and refusals, allowed networks: services,
validators, the API extras, the dashboard forms and the admin."""

import re
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from audit.models import AuditEvent
from core.errors import ServiceError
from smtpusers.models import SmtpUser
from smtpusers.quota import (
    Refusal,
    SendingRefused,
    consume_send_quota,
    record_send_refusal,
    usage_summary,
)
from smtpusers.selectors import smtp_password_of
from smtpusers.services import create_smtp_user, update_smtp_user
from smtpusers.validators import address_allowed, parse_allowed_networks, parse_daily_limit
from testing.http import assert_error, page_text, post_form, post_json


def at(hour, minute=0, day=23):
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def refusal_of(smtp_user, now) -> SendingRefused:
    with pytest.raises(SendingRefused) as refused:
        consume_send_quota(smtp_user.pk, now=now)
    return refused.value


# --- Daily limit and usage windows -----------------------------------------------------------


def test_it_refuses_over_the_daily_limit_until_the_utc_day_turns(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=100, hourly_limit=10, daily_limit=3)
    for hour in (1, 9, 23):
        consume_send_quota(smtp_user.pk, now=at(hour))

    refusal = refusal_of(smtp_user, at(23, 59))
    consume_send_quota(smtp_user.pk, now=at(0, 0, day=24))

    assert refusal.reason == Refusal.DAILY_LIMIT
    assert refusal.message == (
        f"daily limit of 3 messages reached for {smtp_user.smtp_user_name}; "
        "resets at 2026-11-24 00:00 UTC"
    )
    smtp_user.refresh_from_db()
    assert (smtp_user.total_used, smtp_user.day_used, smtp_user.day_started_at) == (
        4,
        1,
        at(0, day=24),
    )


def test_it_names_the_window_that_lasts_longest_when_several_are_exhausted(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=2, hourly_limit=2, daily_limit=2)
    consume_send_quota(smtp_user.pk, now=at(10))
    consume_send_quota(smtp_user.pk, now=at(10))

    assert refusal_of(smtp_user, at(10, 30)).reason == Refusal.TOTAL_LIMIT
    update_smtp_user(alice.owner, smtp_user_name=smtp_user.smtp_user_name, total_limit=10)
    assert refusal_of(smtp_user, at(10, 30)).reason == Refusal.DAILY_LIMIT
    update_smtp_user(alice.owner, smtp_user_name=smtp_user.smtp_user_name, daily_limit="none")
    assert refusal_of(smtp_user, at(10, 30)).message == (
        f"hourly limit of 2 messages reached for {smtp_user.smtp_user_name}; resets at 11:00 UTC"
    )


def test_it_summarises_used_remaining_and_reset_of_every_window(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=50, hourly_limit=10, daily_limit=20)
    for _ in range(4):
        consume_send_quota(smtp_user.pk, now=at(10, 15), client_ip="2001:db8::7")
    smtp_user.refresh_from_db()

    usage = usage_summary(smtp_user, now=at(10, 45))
    later = usage_summary(smtp_user, now=at(11, 5))

    assert [(w.window, w.used, w.limit, w.remaining, w.resets_at) for w in usage.windows] == [
        ("hourly", 4, 10, 6, at(11)),
        ("daily", 4, 20, 16, at(0, day=24)),
        ("total", 4, 50, 46, None),
    ]
    assert (later.hourly.used, later.daily.used) == (0, 4)
    assert (smtp_user.last_used_at, smtp_user.last_used_ip) == (at(10, 15), "2001:db8::7")
    assert usage.refusal_text is None


def test_it_keeps_the_latest_refusal_and_rewrites_the_same_one_at_most_each_minute(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=1, hourly_limit=10)
    refusal = SendingRefused("total limit reached", reason=Refusal.TOTAL_LIMIT)

    record_send_refusal(smtp_user.pk, refusal, now=at(10))
    record_send_refusal(smtp_user.pk, refusal, now=at(10, 0))
    kept_within_a_minute = SmtpUser.objects.get(pk=smtp_user.pk).last_refusal_at
    record_send_refusal(smtp_user.pk, refusal, now=at(10, 2))

    assert kept_within_a_minute == at(10)
    smtp_user.refresh_from_db()
    assert (smtp_user.last_refusal, smtp_user.last_refusal_at) == ("total limit reached", at(10, 2))


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5, 5), ("7", 7), (0, None), ("0", None), ("none", None), (" None ", None)],
)
def test_it_parses_a_daily_limit_or_its_absence(value, expected):
    assert parse_daily_limit(value) == expected


@pytest.mark.parametrize("value", ["", "-1", "1.5", True, [], "lots", 2_147_483_648])
def test_it_refuses_a_bad_daily_limit(value):
    with pytest.raises(ServiceError) as refused:
        parse_daily_limit(value)
    assert refused.value.field == "daily_limit"
    assert 'or 0 or "none" for no daily limit' in refused.value.message


def test_it_changes_and_removes_the_daily_limit_and_audits_it(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)
    name = smtp_user.smtp_user_name

    update_smtp_user(alice.owner, smtp_user_name=name, daily_limit=30)
    update_smtp_user(alice.owner, smtp_user_name=name, total_limit=200)  # None: unchanged
    kept = SmtpUser.objects.get(pk=smtp_user.pk).daily_limit
    update_smtp_user(alice.owner, smtp_user_name=name, daily_limit=0)

    assert kept == 30
    assert SmtpUser.objects.get(pk=smtp_user.pk).daily_limit is None
    changes = [
        event.changes
        for event in AuditEvent.objects.filter(action="smtp_user.update").order_by("id")
    ]
    assert changes == [
        {"daily_limit": [None, 30]},
        {"total_limit": [100, 200]},
        {"daily_limit": [30, None]},
    ]


def test_it_refuses_a_zero_daily_limit_in_the_database(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)
    with pytest.raises(IntegrityError), transaction.atomic():
        SmtpUser.objects.filter(pk=smtp_user.pk).update(daily_limit=0)


# --- Allowed networks ------------------------------------------------------------------------


def test_it_normalises_allowed_networks():
    assert parse_allowed_networks("192.0.2.7\n10.1.2.3/8, 2001:DB8::1/32 192.0.2.7/32") == [
        "192.0.2.7/32",
        "10.0.0.0/8",
        "2001:db8::/32",
    ]
    assert parse_allowed_networks("") == []
    assert parse_allowed_networks([" 198.51.100.0/24 "]) == ["198.51.100.0/24"]


@pytest.mark.parametrize("value", ["192.0.2.300", "10.0.0.0/33", "example.com", 5, [1]])
def test_it_refuses_a_bad_network(value):
    with pytest.raises(ServiceError) as refused:
        parse_allowed_networks(value)
    assert refused.value.field == "allowed_networks"


def test_it_matches_client_addresses_against_allowed_networks():
    allowed = ["192.0.2.0/24", "2001:db8::/32"]
    assert address_allowed(allowed, "192.0.2.200")
    assert address_allowed(allowed, "::ffff:192.0.2.9")  # IPv4-mapped IPv6
    assert address_allowed(allowed, "2001:db8:1::5")
    assert not address_allowed(allowed, "127.0.0.1")
    assert not address_allowed(allowed, "not-an-address")
    assert address_allowed([], "203.0.113.1")


def test_it_saves_allowed_networks_through_the_service_and_audits_them(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)

    update_smtp_user(
        alice.owner, smtp_user_name=smtp_user.smtp_user_name, allowed_networks="192.0.2.1"
    )
    update_smtp_user(alice.owner, smtp_user_name=smtp_user.smtp_user_name, allowed_networks="")

    assert SmtpUser.objects.get(pk=smtp_user.pk).allowed_networks == []
    assert [
        event.changes
        for event in AuditEvent.objects.filter(action="smtp_user.update").order_by("id")
    ] == [
        {"allowed_networks": [[], ["192.0.2.1/32"]]},
        {"allowed_networks": [["192.0.2.1/32"], []]},
    ]


# --- API -------------------------------------------------------------------------------------


def test_it_keeps_the_documented_list_fields_exactly_and_adds_usage_extras(client, alice):
    smtp_user, password = create_smtp_user(
        alice.owner, total_limit=500, hourly_limit=200, daily_limit=300
    )

    item = post_json(client, "/v1.0/settings/listSmtp", alice.credentials).json()["smtp_list"][0]

    documented = {
        key: item[key]
        for key in [
            "smtp_user_name",
            "smtp_password",
            "password",
            "status",
            "total_limit",
            "hourly_limit",
        ]
    }
    assert documented == {
        "smtp_user_name": smtp_user.smtp_user_name,
        "smtp_password": password,
        "password": password,
        "status": "Enable",
        "total_limit": 500,
        "hourly_limit": 200,
    }
    assert [type(value) for value in documented.values()] == [str] * 4 + [int] * 2
    assert {key: item[key] for key in item if key not in documented} == {
        "total_used": 0,
        "total_remaining": 500,
        "hourly_used": 0,
        "hourly_remaining": 200,
        "hourly_resets_at": item["hourly_resets_at"],
        "daily_limit": 300,
        "daily_used": 0,
        "daily_remaining": 300,
        "daily_resets_at": item["daily_resets_at"],
        "last_used_at": None,
        "last_used_ip": None,
        "last_refusal": None,
        "last_refusal_at": None,
        "created_at": item["created_at"],
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:00:00Z", item["hourly_resets_at"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT00:00:00Z", item["daily_resets_at"])


def test_it_lists_no_daily_limit_as_null(client, alice):
    create_smtp_user(alice.owner, total_limit=5, hourly_limit=5)
    item = post_json(client, "/settings/listSmtp", alice.credentials).json()["smtp_list"][0]
    assert (item["daily_limit"], item["daily_remaining"], item["daily_used"]) == (None, None, 0)


def test_it_creates_and_edits_a_daily_limit_through_the_api(client, alice):
    created = post_json(
        client,
        "/v1.0/settings/addSmtp",
        {**alice.credentials, "total_limit": 100, "hourly_limit": 10, "daily_limit": 50},
    ).json()
    name = created["smtp_user_name"]
    daily = []
    for change in [
        {"daily_limit": None},
        {"daily_limit": "60"},
        {"total_limit": 90},
        {"daily_limit": 0},
        {"daily_limit": 25},
        {"daily_limit": "none"},
    ]:
        response = post_json(
            client,
            "/v1.0/settings/editSmtp",
            {**alice.credentials, "smtp_user_name": name, **change},
        )
        assert response.json() == {"status": "success", "message": "SMTP User Updated"}
        daily.append(SmtpUser.objects.get(smtp_user_name=name).daily_limit)

    assert created["status"] == "success"
    assert daily == [50, 60, 60, None, 25, None]


def test_it_edits_a_daily_limit_with_a_form_body(client, alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)
    response = post_form(
        client,
        "/settings/editSmtp",
        {**alice.credentials, "smtp_user_name": smtp_user.smtp_user_name, "daily_limit": "7"},
    )
    assert response.json()["status"] == "success"
    assert SmtpUser.objects.get(pk=smtp_user.pk).daily_limit == 7


@pytest.mark.parametrize("bad", [-1, "", "1.5", "lots", True])
def test_it_refuses_a_bad_daily_limit_through_the_api(client, alice, bad):
    response = post_json(
        client,
        "/v1.0/settings/addSmtp",
        {**alice.credentials, "total_limit": 100, "hourly_limit": 10, "daily_limit": bad},
    )
    assert_error(
        response,
        400,
        "ValidationError",
        'daily_limit must be a positive integer (1 to 2147483647), or 0 or "none" '
        "for no daily limit",
    )
    assert not SmtpUser.objects.exists()


# --- Dashboard -------------------------------------------------------------------------------


def test_it_creates_an_smtp_user_with_a_daily_limit_from_the_form(alice_client, alice):
    alice_client.post(
        reverse("smtpusers:create"),
        {"total_limit": "100", "hourly_limit": "10", "daily_limit": "40"},
    )
    alice_client.post(
        reverse("smtpusers:create"), {"total_limit": "100", "hourly_limit": "10", "daily_limit": ""}
    )
    assert list(SmtpUser.objects.order_by("id").values_list("daily_limit", flat=True)) == [40, None]


def test_it_edits_the_daily_limit_and_allowed_networks_on_the_smtp_users_page(alice_client, alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=100, hourly_limit=10, daily_limit=9)
    url = reverse("smtpusers:detail", args=[smtp_user.smtp_user_name])
    form = {"total_limit": "100", "hourly_limit": "10", "status": "Enable"}

    alice_client.post(
        url, {**form, "daily_limit": "", "allowed_networks": "192.0.2.7\r\n2001:db8::/48"}
    )
    page = alice_client.get(url).content.decode()

    smtp_user.refresh_from_db()
    assert (smtp_user.daily_limit, smtp_user.allowed_networks) == (
        None,
        ["192.0.2.7/32", "2001:db8::/48"],
    )
    assert "192.0.2.7/32\n2001:db8::/48</textarea>" in page
    assert "<code>192.0.2.7/32</code>, <code>2001:db8::/48</code>" in page


def test_it_shows_a_bad_network_under_its_field_and_changes_nothing(alice_client, alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)
    url = reverse("smtpusers:detail", args=[smtp_user.smtp_user_name])

    response = alice_client.post(
        url,
        {
            "total_limit": "500",
            "hourly_limit": "10",
            "status": "Enable",
            "allowed_networks": "192.0.2.0/24\n10.0.0.300",
        },
    )

    errors = re.search(
        r'<ul class="errorlist" id="id_allowed_networks_error">(.*?)</ul>',
        response.content.decode(),
        re.S,
    )
    assert errors and "10.0.0.300 is not an IP address or network" in errors.group(1)
    smtp_user.refresh_from_db()
    assert (smtp_user.total_limit, smtp_user.allowed_networks) == (100, [])


def test_it_shows_remaining_resets_last_use_and_the_limit_notice(alice_client, alice):
    from django.utils import timezone

    smtp_user, password = create_smtp_user(alice.owner, total_limit=3, hourly_limit=10)
    now = timezone.now()
    for _ in range(3):
        consume_send_quota(smtp_user.pk, now=now, client_ip="198.51.100.4")

    detail = alice_client.get(reverse("smtpusers:detail", args=[smtp_user.smtp_user_name]))
    listing = alice_client.get(reverse("smtpusers:list"))

    text = page_text(detail)
    assert (
        f"Sending paused: total limit of 3 messages reached for {smtp_user.smtp_user_name}; "
        "raise the limit to send more."
    ) in text
    assert "In total 3 of 3 100% 0 left · never resets" in text
    assert f"Last used {now:%Y-%m-%d %H:%M:%S} UTC from 198.51.100.4" in text
    assert password not in detail.content.decode()
    assert "3 / 3 0 left" in page_text(listing)
    assert "198.51.100.4" in page_text(listing)


# --- Admin -----------------------------------------------------------------------------------


def test_it_edits_the_daily_limit_and_networks_in_the_admin(client, support_member, alice):
    smtp_user, password = create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)
    client.force_login(support_member.user)
    url = reverse("admin:smtpusers_smtpuser_change", args=[smtp_user.pk])
    data = {"total_limit": "100", "hourly_limit": "10", "status": "Enable"}

    bad = client.post(url, {**data, "daily_limit": "0", "allowed_networks": "300.1.1.1"})
    good = client.post(url, {**data, "daily_limit": "25", "allowed_networks": "192.0.2.0/24"})
    page = client.get(url).content.decode()

    assert bad.context["adminform"].form.errors["allowed_networks"] == [
        "300.1.1.1 is not an IP address or network (e.g. 192.0.2.0/24, 2001:db8::/32)"
    ]
    assert good.status_code == 302
    smtp_user.refresh_from_db()
    assert (smtp_user.daily_limit, smtp_user.allowed_networks) == (25, ["192.0.2.0/24"])
    assert "0 of 25, 25 left, resets at" in page
    assert password not in page and smtp_password_of(smtp_user) == password

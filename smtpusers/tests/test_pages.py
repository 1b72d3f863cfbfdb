"""The SMTP users dashboard pages, through Django's test client against PostgreSQL."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.crypto import decrypt
from smtpusers import services
from smtpusers.models import SmtpUser
from smtpusers.quota import hour_start
from testing.http import page_text

LIMIT = "Enter a whole number of messages, at least 1."


def create_smtp_users(tenant, count, *, total_limit=1000, hourly_limit=100):
    return [
        services.create_smtp_user(tenant.owner, total_limit=total_limit, hourly_limit=hourly_limit)[
            0
        ]
        for _ in range(count)
    ]


def reload(smtp_user):
    smtp_user.refresh_from_db()
    return smtp_user


def listed_names(response) -> list[str]:
    return re.findall(r'name="smtp_user_names" value="([^"]+)"', response.content.decode())


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- access -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url_name", "needs_name"),
    [
        ("smtpusers:list", False),
        ("smtpusers:create", False),
        ("smtpusers:detail", True),
        ("smtpusers:disable", True),
        ("smtpusers:enable", True),
        ("smtpusers:reset-password", True),
    ],
)
def test_it_sends_anonymous_visitors_to_sign_in(client, alice, url_name, needs_name):
    (smtp_user,) = create_smtp_users(alice, 1)
    url = reverse(url_name, args=[smtp_user.smtp_user_name] if needs_name else [])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={url}"


def test_it_refuses_anonymous_bulk_changes(client, alice):
    (smtp_user,) = create_smtp_users(alice, 1)

    response = client.post(
        reverse("smtpusers:bulk-status"),
        {"smtp_user_names": [smtp_user.smtp_user_name], "status": "Disable"},
    )

    assert response["Location"].startswith(reverse("accounts:login"))
    assert reload(smtp_user).is_enabled


@pytest.mark.parametrize(
    ("url_name", "method"),
    [
        ("smtpusers:detail", "get"),
        ("smtpusers:detail", "post"),
        ("smtpusers:disable", "get"),
        ("smtpusers:disable", "post"),
        ("smtpusers:enable", "post"),
        ("smtpusers:reset-password", "get"),
        ("smtpusers:reset-password", "post"),
    ],
)
def test_it_answers_404_for_another_owners_smtp_user(alice_client, bob, url_name, method):
    (bobs,) = create_smtp_users(bob, 1)
    before = (bobs.is_enabled, bobs.total_limit, bobs.password_encrypted)

    response = getattr(alice_client, method)(
        reverse(url_name, args=[bobs.smtp_user_name]),
        {"total_limit": "5", "hourly_limit": "5", "status": "Disable"},
    )

    assert response.status_code == 404
    assert bobs.smtp_user_name not in response.content.decode()
    bobs = reload(bobs)
    assert (bobs.is_enabled, bobs.total_limit, bobs.password_encrypted) == before


def test_it_answers_404_for_a_missing_smtp_user_like_for_another_owners(alice_client, bob):
    (bobs,) = create_smtp_users(bob, 1)

    missing = alice_client.get(reverse("smtpusers:detail", args=["smtp00000000"]))
    foreign = alice_client.get(reverse("smtpusers:detail", args=[bobs.smtp_user_name]))

    assert missing.status_code == foreign.status_code == 404
    assert "smtp00000000" not in missing.content.decode()


@pytest.mark.parametrize(
    ("url_name", "needs_name", "data"),
    [
        ("smtpusers:create", False, {"total_limit": "10", "hourly_limit": "5"}),
        ("smtpusers:detail", True, {"total_limit": "10", "hourly_limit": "5", "status": "Enable"}),
        ("smtpusers:disable", True, {}),
        ("smtpusers:reset-password", True, {}),
        ("smtpusers:bulk-status", False, {"status": "Disable"}),
    ],
)
def test_it_refuses_posts_without_a_csrf_token(alice, url_name, needs_name, data):
    (smtp_user,) = create_smtp_users(alice, 1)
    before = (smtp_user.is_enabled, smtp_user.total_limit, smtp_user.password_encrypted)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice.login)

    response = client.post(
        reverse(url_name, args=[smtp_user.smtp_user_name] if needs_name else []),
        {**data, "smtp_user_names": [smtp_user.smtp_user_name]},
    )

    assert response.status_code == 403
    assert "CSRF" in response.content.decode()
    assert SmtpUser.objects.count() == 1
    smtp_user = reload(smtp_user)
    assert (smtp_user.is_enabled, smtp_user.total_limit, smtp_user.password_encrypted) == before


def test_it_accepts_posts_with_the_pages_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice.login)
    form_page = client.get(reverse("smtpusers:create"))
    token = re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', form_page.content.decode()
    ).group(1)

    response = client.post(
        reverse("smtpusers:create"),
        {"csrfmiddlewaretoken": token, "total_limit": "10", "hourly_limit": "5"},
        follow=True,
    )

    assert response.status_code == 200
    assert SmtpUser.objects.get(owner=alice.owner).total_limit == 10


# --- list -------------------------------------------------------------------------------


def test_it_lists_only_the_owners_smtp_users_with_status_limits_and_usage(alice_client, alice, bob):
    busy, idle = create_smtp_users(alice, 2, total_limit=1000, hourly_limit=100)
    (bobs,) = create_smtp_users(bob, 1)
    now = timezone.now()
    SmtpUser.objects.filter(pk=busy.pk).update(
        total_used=17, hour_started_at=hour_start(now), hour_used=4
    )
    services.update_smtp_user(alice.owner, smtp_user_name=idle.smtp_user_name, status="Disable")

    response = alice_client.get(reverse("smtpusers:list"))

    assert sorted(listed_names(response)) == sorted([busy.smtp_user_name, idle.smtp_user_name])
    assert bobs.smtp_user_name not in response.content.decode()
    text = page_text(response)
    resets = f"{hour_start(now) + timedelta(hours=1):%H:%M}"
    assert (
        f"{busy.smtp_user_name} Enabled 17 / 1000 983 left 4 / 100 96 left, resets {resets} "
        "0 / none never"
    ) in text
    assert f"{idle.smtp_user_name} Disabled 0 / 1000 1000 left 0 / 100 100 left" in text
    assert "2 SMTP users" in text


def test_it_counts_no_hourly_usage_left_over_from_an_earlier_hour(alice_client, alice):
    (smtp_user,) = create_smtp_users(alice, 1, hourly_limit=100)
    earlier_hour = hour_start(timezone.now()) - timezone.timedelta(hours=1)
    SmtpUser.objects.filter(pk=smtp_user.pk).update(hour_started_at=earlier_hour, hour_used=60)

    response = alice_client.get(reverse("smtpusers:list"))

    assert "0 / 100" in page_text(response)
    assert "60 / 100" not in page_text(response)


def test_it_never_shows_passwords_on_the_list(alice_client, alice):
    (smtp_user,) = create_smtp_users(alice, 1)

    response = alice_client.get(reverse("smtpusers:list"))

    assert decrypt(smtp_user.password_encrypted) not in response.content.decode()
    assert smtp_user.password_encrypted not in response.content.decode()


def test_it_searches_by_name_ignoring_case(alice_client, alice):
    wanted, _ = create_smtp_users(alice, 2)

    response = alice_client.get(reverse("smtpusers:list"), {"q": wanted.smtp_user_name.upper()})

    assert listed_names(response) == [wanted.smtp_user_name]
    assert "1 SMTP user matches" in page_text(response)


@pytest.mark.parametrize(("status", "expected_index"), [("enabled", 0), ("disabled", 1)])
def test_it_filters_by_status(alice_client, alice, status, expected_index):
    smtp_users = create_smtp_users(alice, 2)
    services.update_smtp_user(
        alice.owner, smtp_user_name=smtp_users[1].smtp_user_name, status="Disable"
    )

    response = alice_client.get(reverse("smtpusers:list"), {"status": status})

    assert listed_names(response) == [smtp_users[expected_index].smtp_user_name]


def test_it_says_when_no_smtp_user_matches(alice_client, alice):
    create_smtp_users(alice, 1)

    response = alice_client.get(reverse("smtpusers:list"), {"q": "nothing-like-this"})

    assert listed_names(response) == []
    assert "No SMTP users match these filters." in page_text(response)


def test_it_invites_to_create_the_first_smtp_user(alice_client):
    response = alice_client.get(reverse("smtpusers:list"))

    assert "No SMTP users yet." in page_text(response)
    assert f'<a href="{reverse("smtpusers:create")}">Create the first one</a>' in (
        response.content.decode()
    )


@pytest.mark.parametrize(
    ("sort", "key", "reverse_order"),
    [
        ("name", lambda user: user.smtp_user_name, False),
        ("-name", lambda user: user.smtp_user_name, True),
        ("total_limit", lambda user: user.total_limit, False),
        ("-total_limit", lambda user: user.total_limit, True),
        ("hourly_limit", lambda user: user.hourly_limit, False),
        ("-hourly_limit", lambda user: user.hourly_limit, True),
        ("created", lambda user: (user.created_at, user.pk), False),
        ("-created", lambda user: (user.created_at, user.pk), True),
        ("bogus", lambda user: (user.created_at, user.pk), True),
    ],
)
def test_it_sorts_by_name_limits_and_creation(alice_client, alice, sort, key, reverse_order):
    smtp_users = [
        services.create_smtp_user(alice.owner, total_limit=total, hourly_limit=hourly)[0]
        for total, hourly in [(300, 1), (100, 3), (200, 2)]
    ]

    response = alice_client.get(reverse("smtpusers:list"), {"sort": sort})

    expected = sorted(smtp_users, key=key, reverse=reverse_order)
    assert listed_names(response) == [smtp_user.smtp_user_name for smtp_user in expected]


def test_it_links_each_column_to_its_sort_and_reverses_the_current_one(alice_client, alice):
    create_smtp_users(alice, 1)

    response = alice_client.get(reverse("smtpusers:list"), {"sort": "name", "q": "smtp"})

    body = response.content.decode()
    assert 'aria-sort="ascending"><a href="?sort=-name&amp;q=smtp">Name</a>' in body
    assert '<a href="?sort=total_limit&amp;q=smtp">' in body


def test_it_marks_the_default_sort_newest_first(alice_client, alice):
    response = alice_client.get(reverse("smtpusers:list"))

    assert 'aria-sort="descending"><a href="?sort=created">Created</a>' in (
        response.content.decode()
    )


def test_it_shows_50_smtp_users_per_page(alice_client, alice):
    smtp_users = create_smtp_users(alice, 51)
    oldest_first = [smtp_user.smtp_user_name for smtp_user in smtp_users]

    first = alice_client.get(reverse("smtpusers:list"), {"sort": "created"})
    second = alice_client.get(reverse("smtpusers:list"), {"sort": "created", "page": "2"})

    assert listed_names(first) == oldest_first[:50]
    assert listed_names(second) == oldest_first[50:]
    assert "Page 1 of 2" in page_text(first)
    assert 'href="?sort=created&amp;page=2"' in first.content.decode()
    assert "51 SMTP users" in page_text(second)


def test_it_shows_the_last_page_for_a_page_number_past_the_end(alice_client, alice):
    smtp_users = create_smtp_users(alice, 51)

    response = alice_client.get(reverse("smtpusers:list"), {"sort": "created", "page": "99"})

    assert listed_names(response) == [smtp_users[-1].smtp_user_name]


def _list_page_queries(client, filters) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("smtpusers:list"), filters)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "filters", [{}, {"q": "smtp", "status": "enabled", "sort": "-total_limit"}]
)
def test_it_runs_as_many_queries_for_100_smtp_users_as_for_1(alice_client, alice, filters):
    create_smtp_users(alice, 1)
    queries_for_one = _list_page_queries(alice_client, filters)
    create_smtp_users(alice, 99)

    queries_for_hundred = _list_page_queries(alice_client, filters)

    # Session, login with its owner, the count and the page itself.
    assert queries_for_one == queries_for_hundred == 4


# --- create -------------------------------------------------------------------------------


def test_it_shows_the_create_form(alice_client):
    response = alice_client.get(reverse("smtpusers:create"))

    body = response.content.decode()
    assert '<label for="id_total_limit">Total limit:</label>' in body
    assert '<label for="id_hourly_limit">Hourly limit:</label>' in body


def test_it_creates_an_smtp_user_and_shows_its_password_once(alice_client, alice, settings):
    settings.SMTP_PUBLIC_HOST = "smtp.relay.example"
    settings.SMTP_PUBLIC_PORT = 587
    settings.SMTP_PUBLIC_TLS = "STARTTLS"

    response = alice_client.post(
        reverse("smtpusers:create"), {"total_limit": "5000", "hourly_limit": "250"}, follow=True
    )

    smtp_user = SmtpUser.objects.get(owner=alice.owner)
    password = decrypt(smtp_user.password_encrypted)
    assert (smtp_user.total_limit, smtp_user.hourly_limit, smtp_user.is_enabled) == (
        5000,
        250,
        True,
    )
    body = response.content.decode()
    assert f'<code id="smtp-user-name" class="secret">{smtp_user.smtp_user_name}</code>' in body
    assert f'<code id="smtp-password" class="secret">{password}</code>' in body
    text = page_text(response)
    assert "smtp.relay.example" in text and "Port 587" in text and "Encryption STARTTLS" in text
    assert f"SMTP user {smtp_user.smtp_user_name} created." in messages_of(response)
    assert "no-store" in response["Cache-Control"]
    detail = alice_client.get(reverse("smtpusers:detail", args=[smtp_user.smtp_user_name]))
    assert password not in detail.content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"total_limit": "0", "hourly_limit": "5"}, "total_limit", LIMIT),
        ({"total_limit": "-3", "hourly_limit": "5"}, "total_limit", LIMIT),
        ({"total_limit": "", "hourly_limit": "5"}, "total_limit", LIMIT),
        ({"total_limit": "1.5", "hourly_limit": "5"}, "total_limit", LIMIT),
        ({"total_limit": "ten", "hourly_limit": "5"}, "total_limit", LIMIT),
        (
            {"total_limit": "2147483648", "hourly_limit": "5"},
            "total_limit",
            "at most 2,147,483,647",
        ),
        ({"total_limit": "5", "hourly_limit": "0"}, "hourly_limit", LIMIT),
        ({"total_limit": "5"}, "hourly_limit", LIMIT),
    ],
)
def test_it_shows_the_services_validation_errors_inline_and_creates_nothing(
    alice_client, data, field, message
):
    response = alice_client.post(reverse("smtpusers:create"), data)

    assert response.status_code == 200
    body = response.content.decode()
    error_list = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', body, re.S)
    assert error_list and message in error_list.group(1)
    assert f'aria-invalid="true" aria-describedby="id_{field}_helptext id_{field}_error"' in body
    assert SmtpUser.objects.count() == 0


def test_it_marks_every_wrong_field_of_an_empty_form_at_once_in_the_pages_words(alice_client):
    response = alice_client.post(
        reverse("smtpusers:create"), {"total_limit": "", "hourly_limit": "", "daily_limit": "x"}
    )

    body = response.content.decode()
    for field, message in [
        ("total_limit", LIMIT),
        ("hourly_limit", LIMIT),
        ("daily_limit", "Enter a whole number of messages, at least 1, or leave it blank"),
    ]:
        error_list = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', body)
        assert error_list and message in error_list.group(1)
        assert (
            f'aria-invalid="true" aria-describedby="id_{field}_helptext id_{field}_error"' in body
        )
        assert f"{field} must be" not in body
    assert "Correct the marked fields below" in page_text(response)
    assert SmtpUser.objects.count() == 0


def test_it_keeps_the_api_messages_for_the_same_mistakes(alice):
    response = Client().post(
        "/v1.0/settings/addSmtp",
        {**alice.credentials, "total_limit": "", "hourly_limit": "5"},
        content_type="application/json",
    )

    assert response.json()["message"].startswith("total_limit must be a positive integer")


def test_it_keeps_the_typed_values_after_a_validation_error(alice_client):
    response = alice_client.post(
        reverse("smtpusers:create"), {"total_limit": "777", "hourly_limit": "0"}
    )

    assert 'name="total_limit" value="777"' in response.content.decode()


# --- detail and edit ------------------------------------------------------------------------


def test_it_shows_an_smtp_users_details_without_its_password(alice_client, alice):
    (smtp_user,) = create_smtp_users(alice, 1, total_limit=900, hourly_limit=90)
    SmtpUser.objects.filter(pk=smtp_user.pk).update(
        total_used=12, hour_started_at=hour_start(timezone.now()), hour_used=2
    )

    response = alice_client.get(reverse("smtpusers:detail", args=[smtp_user.smtp_user_name]))

    text = page_text(response)
    assert f"SMTP user {smtp_user.smtp_user_name} Enabled" in text
    assert "This hour 2 of 90 2% 88 left" in text and "In total 12 of 900 1% 888 left" in text
    assert "Today 0 No daily limit" in text
    assert 'name="total_limit" value="900"' in response.content.decode()
    # One way to change the status: the Disable action, not also a status select.
    assert 'name="status"' not in response.content.decode().replace(
        'type="hidden" name="status"', ""
    )
    assert f'action="{reverse("smtpusers:disable", args=[smtp_user.smtp_user_name])}"' in (
        response.content.decode()
    )
    assert decrypt(smtp_user.password_encrypted) not in response.content.decode()


def test_it_saves_new_limits_and_status(alice_client, alice):
    (smtp_user,) = create_smtp_users(alice, 1)
    url = reverse("smtpusers:detail", args=[smtp_user.smtp_user_name])

    response = alice_client.post(
        url, {"total_limit": "2500", "hourly_limit": "25", "status": "Disable"}, follow=True
    )

    smtp_user = reload(smtp_user)
    assert (smtp_user.total_limit, smtp_user.hourly_limit, smtp_user.is_enabled) == (
        2500,
        25,
        False,
    )
    assert response.redirect_chain == [(url, 302)]
    assert f"SMTP user {smtp_user.smtp_user_name} saved." in messages_of(response)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"total_limit": "2500", "hourly_limit": "0", "status": "Enable"},
            "hourly_limit",
            LIMIT,
        ),
        (
            {"total_limit": "", "hourly_limit": "10", "status": "Enable"},
            "total_limit",
            LIMIT,
        ),
    ],
)
def test_it_refuses_an_invalid_edit_inline_and_changes_nothing(
    alice_client, alice, data, field, message
):
    (smtp_user,) = create_smtp_users(alice, 1, total_limit=1000, hourly_limit=100)

    response = alice_client.post(reverse("smtpusers:detail", args=[smtp_user.smtp_user_name]), data)

    error_list = re.search(
        rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', response.content.decode(), re.S
    )
    assert error_list and message in error_list.group(1)
    smtp_user = reload(smtp_user)
    assert (smtp_user.total_limit, smtp_user.hourly_limit, smtp_user.is_enabled) == (
        1000,
        100,
        True,
    )


def test_it_refuses_an_unknown_status_in_an_edit_and_changes_nothing(alice_client, alice):
    (smtp_user,) = create_smtp_users(alice, 1, total_limit=1000, hourly_limit=100)

    response = alice_client.post(
        reverse("smtpusers:detail", args=[smtp_user.smtp_user_name]),
        {"total_limit": "2500", "hourly_limit": "10", "status": "Paused"},
    )

    assert "Choose Enabled or Disabled." in page_text(response)
    assert reload(smtp_user).total_limit == 1000


# --- disable / enable -------------------------------------------------------------------------


def test_it_asks_before_disabling_and_changes_nothing_on_get(alice_client, alice):
    (smtp_user,) = create_smtp_users(alice, 1)

    response = alice_client.get(reverse("smtpusers:disable", args=[smtp_user.smtp_user_name]))

    text = page_text(response)
    assert f"Disable SMTP user {smtp_user.smtp_user_name}?" in text
    assert '<button type="submit" class="danger">Disable</button>' in response.content.decode()
    assert reload(smtp_user).is_enabled


def test_it_disables_and_enables_an_smtp_user_with_one_post_each(alice_client, alice):
    (smtp_user,) = create_smtp_users(alice, 1)
    name = smtp_user.smtp_user_name
    detail = reverse("smtpusers:detail", args=[name])

    disabled = alice_client.post(reverse("smtpusers:disable", args=[name]), follow=True)
    assert not reload(smtp_user).is_enabled
    assert disabled.redirect_chain == [(detail, 302)]
    assert f"SMTP user {name} disabled." in messages_of(disabled)
    assert f"SMTP user {name} Disabled" in page_text(disabled)

    enabled = alice_client.post(reverse("smtpusers:enable", args=[name]), follow=True)
    assert reload(smtp_user).is_enabled
    assert f"SMTP user {name} enabled." in messages_of(enabled)


def test_it_returns_to_the_list_page_it_came_from(alice_client, alice):
    (smtp_user,) = create_smtp_users(alice, 1)
    list_url = reverse("smtpusers:list") + "?status=enabled&page=1"

    response = alice_client.post(
        reverse("smtpusers:disable", args=[smtp_user.smtp_user_name]), {"next": list_url}
    )

    assert response["Location"] == list_url


def test_it_never_redirects_off_site_after_an_action(alice_client, alice):
    (smtp_user,) = create_smtp_users(alice, 1)

    response = alice_client.post(
        reverse("smtpusers:disable", args=[smtp_user.smtp_user_name]),
        {"next": "https://evil.example/"},
    )

    assert response["Location"] == reverse("smtpusers:detail", args=[smtp_user.smtp_user_name])


# --- reset password ---------------------------------------------------------------------------


def test_it_asks_before_resetting_a_password_and_changes_nothing_on_get(alice_client, alice):
    (smtp_user,) = create_smtp_users(alice, 1)
    ciphertext = smtp_user.password_encrypted

    response = alice_client.get(
        reverse("smtpusers:reset-password", args=[smtp_user.smtp_user_name])
    )

    assert f"Reset the password of SMTP user {smtp_user.smtp_user_name}?" in page_text(response)
    assert reload(smtp_user).password_encrypted == ciphertext


def test_it_resets_a_password_and_shows_the_new_one_once(alice_client, alice):
    (smtp_user,) = create_smtp_users(alice, 1)
    old_password = decrypt(smtp_user.password_encrypted)

    response = alice_client.post(
        reverse("smtpusers:reset-password", args=[smtp_user.smtp_user_name]), follow=True
    )

    new_password = decrypt(reload(smtp_user).password_encrypted)
    assert new_password != old_password
    body = response.content.decode()
    assert f'<code id="smtp-password" class="secret">{new_password}</code>' in body
    assert old_password not in body
    assert "no-store" in response["Cache-Control"]
    assert f"SMTP user {smtp_user.smtp_user_name} has a new password." in messages_of(response)


# --- bulk status ------------------------------------------------------------------------------


def test_it_disables_and_enables_several_smtp_users_at_once(alice_client, alice, bob):
    first, second, untouched = create_smtp_users(alice, 3)
    (bobs,) = create_smtp_users(bob, 1)
    names = [first.smtp_user_name, second.smtp_user_name, bobs.smtp_user_name]

    disabled = alice_client.post(
        reverse("smtpusers:bulk-status"),
        {"smtp_user_names": names, "status": "Disable"},
        follow=True,
    )

    assert [reload(user).is_enabled for user in (first, second, untouched, bobs)] == [
        False,
        False,
        True,
        True,
    ]
    assert disabled.redirect_chain == [(reverse("smtpusers:list"), 302)]
    assert "2 SMTP users disabled." in messages_of(disabled)

    enabled = alice_client.post(
        reverse("smtpusers:bulk-status"),
        {"smtp_user_names": [first.smtp_user_name], "status": "Enable"},
        follow=True,
    )
    assert reload(first).is_enabled and not reload(second).is_enabled
    assert "1 SMTP user enabled." in messages_of(enabled)


def test_it_asks_to_select_smtp_users_before_a_bulk_change(alice_client, alice):
    (smtp_user,) = create_smtp_users(alice, 1)

    response = alice_client.post(
        reverse("smtpusers:bulk-status"), {"status": "Disable"}, follow=True
    )

    assert "Select at least one SMTP user first." in messages_of(response)
    assert reload(smtp_user).is_enabled


def test_it_reports_an_unknown_bulk_status_and_changes_nothing(alice_client, alice):
    (smtp_user,) = create_smtp_users(alice, 1)

    response = alice_client.post(
        reverse("smtpusers:bulk-status"),
        {"smtp_user_names": [smtp_user.smtp_user_name], "status": "Pause"},
        follow=True,
    )

    assert "status must be Enable or Disable" in messages_of(response)
    assert reload(smtp_user).is_enabled


def test_it_refuses_bulk_changes_by_get(alice_client, alice):
    (smtp_user,) = create_smtp_users(alice, 1)

    response = alice_client.get(
        reverse("smtpusers:bulk-status"),
        {"smtp_user_names": [smtp_user.smtp_user_name], "status": "Disable"},
    )

    assert response.status_code == 405
    assert reload(smtp_user).is_enabled


def test_it_runs_row_actions_from_the_list_form(alice_client, alice):
    """A row's Disable button posts the list's form to that row's disable URL (formaction)."""
    (smtp_user,) = create_smtp_users(alice, 1)

    response = alice_client.get(reverse("smtpusers:list"))

    disable_url = reverse("smtpusers:disable", args=[smtp_user.smtp_user_name])
    assert f'formaction="{disable_url}"' in response.content.decode()
    assert 'name="next" value="/smtp-users/"' in response.content.decode()

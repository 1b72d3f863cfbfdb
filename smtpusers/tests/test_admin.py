"""The SMTP users admin: support staff find, edit, disable and reset through the services."""

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Owner, User
from core.crypto import decrypt
from core.errors import ServiceError
from smtpusers import admin as smtpusers_admin
from smtpusers.models import SmtpUser
from smtpusers.quota import hour_start
from smtpusers.services import create_smtp_user

CHANGELIST = reverse("admin:smtpusers_smtpuser_changelist")
NEW_PASSWORD = re.compile(r"New password for smtp\d+ \(owner \w+\): <code>(\w+)</code>")


def change_url(smtp_user) -> str:
    return reverse("admin:smtpusers_smtpuser_change", args=[smtp_user.pk])


def run_action(client, action: str, smtp_users, *, follow=False, **data):
    selected = [smtp_user.pk for smtp_user in smtp_users]
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": selected, **data}, follow=follow
    )


def listed(response) -> list[str]:
    return [smtp_user.smtp_user_name for smtp_user in response.context["cl"].result_list]


def page_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def log_messages(smtp_user) -> list[str]:
    return [
        entry.get_change_message()
        for entry in LogEntry.objects.filter(object_id=str(smtp_user.pk)).order_by("pk")
    ]


@pytest.fixture
def alices_smtp_user(alice):
    return create_smtp_user(alice.owner, total_limit=1000, hourly_limit=100)


@pytest.fixture
def bobs_smtp_user(bob):
    return create_smtp_user(bob.owner, total_limit=1000, hourly_limit=100)


def make_customers(count: int) -> None:
    """`count` SMTP users spread over owners that each have a login, like production."""
    owners = [Owner.objects.create(name=f"Customer {number}") for number in range(count // 10 + 1)]
    for owner in owners:
        User.objects.create_user(email=f"{owner.owner_id}@example.com", owner=owner)
    for number in range(count):
        create_smtp_user(owners[number % len(owners)], total_limit=500, hourly_limit=50)


def queries_for(client, url: str, params: dict) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries), listed(response)


# --- The support story, end to end (the definition of done) ---------------------------


def test_it_lets_support_find_disable_and_reset_an_smtp_user_that_the_customer_api_then_shows(
    alice, bob, alices_smtp_user, bobs_smtp_user
):
    # As docs/admin.md says: create the staff member, sign in at /admin/ with the email.
    call_command("createstaff", "helper@support.example", "--password", "Support-Correct-Horse-9")
    staff = Client()
    signed_in = staff.post(
        "/admin/login/?next=/admin/",
        {"username": "helper@support.example", "password": "Support-Correct-Horse-9"},
    )
    assert signed_in.status_code == 302 and signed_in.url == "/admin/"

    found = staff.get(CHANGELIST, {"q": alice.login.email})
    smtp_user, old_password = alices_smtp_user
    assert listed(found) == [smtp_user.smtp_user_name]

    disabled = run_action(staff, "disable_smtp_users", [smtp_user], follow=True)
    assert page_messages(disabled) == ["Disabled 1 SMTP user(s)."]

    reset = run_action(staff, "reset_smtp_passwords", [smtp_user], follow=True)
    [new_password] = NEW_PASSWORD.findall(reset.content.decode())
    assert new_password != old_password

    listing = Client().post(
        "/v1.0/settings/listSmtp", alice.credentials, content_type="application/json"
    )
    [item] = listing.json()["smtp_list"]
    assert item["smtp_user_name"] == smtp_user.smtp_user_name
    assert item["status"] == "Disable"
    assert item["smtp_password"] == item["password"] == new_password
    bobs_item = Client().post("/v1.0/settings/listSmtp", bob.credentials).json()["smtp_list"][0]
    assert bobs_item["status"] == "Enable" and bobs_item["password"] == bobs_smtp_user[1]


# --- Query counts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [{}, {"q": "example.com", "o": "-2.1"}, {"status": "Enable", "o": "3"}],
    ids=["plain", "search-login-email-sort-by-owner", "filter-and-sort-by-status"],
)
def test_it_lists_1_or_200_smtp_users_with_the_same_number_of_queries(support_client, params):
    make_customers(1)
    one_count, one_listed = queries_for(support_client, CHANGELIST, params)
    make_customers(199)
    many_count, many_listed = queries_for(support_client, CHANGELIST, params)

    assert (len(one_listed), len(many_listed)) == (1, 100)  # a page holds 100 rows
    assert many_count == one_count
    print(f"SMTP users changelist {params}: {one_count} queries for 1 and for 200 rows")


def test_it_filters_to_one_owner_with_the_same_number_of_queries_for_1_and_200(
    support_client, alice, alices_smtp_user
):
    params = {"owner": alice.owner_id}
    one_count, one_listed = queries_for(support_client, CHANGELIST, params)
    for _ in range(199):
        create_smtp_user(alice.owner, total_limit=5, hourly_limit=5)
    make_customers(50)
    many_count, many_listed = queries_for(support_client, CHANGELIST, params)

    assert (len(one_listed), len(many_listed)) == (1, 100)
    assert many_count == one_count
    print(f"SMTP users changelist filtered by owner: {one_count} queries for 1 and for 200 rows")


# --- Search and filters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "search_for",
    [
        lambda alice, smtp_user: smtp_user.smtp_user_name,
        lambda alice, smtp_user: smtp_user.smtp_user_name[-5:],
        lambda alice, smtp_user: "alic",
        lambda alice, smtp_user: alice.owner_id,
        lambda alice, smtp_user: alice.login.email,
        lambda alice, smtp_user: "ALICE@EXAMPLE",
    ],
    ids=["name", "part-of-name", "owner-name", "owner-id", "login-email", "email-any-case"],
)
def test_it_finds_an_smtp_user_by_each_search_field(
    support_client, alice, alices_smtp_user, bobs_smtp_user, search_for
):
    smtp_user, _ = alices_smtp_user

    response = support_client.get(CHANGELIST, {"q": search_for(alice, smtp_user)})

    assert listed(response) == [smtp_user.smtp_user_name]


def test_it_lists_an_smtp_user_once_when_several_of_its_owners_logins_match(
    support_client, alice, alices_smtp_user
):
    User.objects.create_user(email="alice.billing@example.com", owner=alice.owner)

    response = support_client.get(CHANGELIST, {"q": "alice"})

    assert listed(response) == [alices_smtp_user[0].smtp_user_name]
    assert response.context["cl"].result_count == 1


def test_it_filters_by_status_and_owner(support_client, alice, bob, bobs_smtp_user):
    enabled, _ = create_smtp_user(alice.owner, total_limit=5, hourly_limit=5)
    disabled, _ = create_smtp_user(alice.owner, total_limit=5, hourly_limit=5)
    SmtpUser.objects.filter(pk=disabled.pk).update(is_enabled=False)

    alices_disabled = support_client.get(CHANGELIST, {"owner": alice.owner_id, "status": "Disable"})
    alices_enabled = support_client.get(CHANGELIST, {"owner": alice.owner_id, "status": "Enable"})
    nobodys = support_client.get(CHANGELIST, {"owner": "no-such-owner"})

    assert listed(alices_disabled) == [disabled.smtp_user_name]
    assert listed(alices_enabled) == [enabled.smtp_user_name]
    assert listed(nobodys) == []
    owner_filter = alices_enabled.context["cl"].filter_specs[1]
    assert owner_filter.lookup_choices == [(alice.owner_id, "Alice")]  # the sidebar names it


def test_it_shows_limits_usage_and_owner_in_the_list(support_client, alice, alices_smtp_user):
    smtp_user, _ = alices_smtp_user
    SmtpUser.objects.filter(pk=smtp_user.pk).update(
        total_used=42, hour_used=7, hour_started_at=hour_start(timezone.now())
    )

    response = support_client.get(CHANGELIST)

    row = re.search(r"<tr>.*?</tr>", response.content.decode().split("<tbody>")[1], re.S)[0]
    cells = [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
    ]
    usage = ["42 / 1000", "7 / 100", "0 / none"]
    assert cells[1:7] == [smtp_user.smtp_user_name, "Alice", "Enabled", *usage]


# --- Actions ----------------------------------------------------------------------------------


def test_it_disables_and_enables_through_the_actions_logging_each_smtp_user(
    support_client, alice, bob, alices_smtp_user, bobs_smtp_user
):
    selected = [alices_smtp_user[0], bobs_smtp_user[0]]

    disabled = run_action(support_client, "disable_smtp_users", selected, follow=True)
    statuses_after_disable = sorted(SmtpUser.objects.values_list("is_enabled", flat=True))
    enabled = run_action(support_client, "enable_smtp_users", selected[:1], follow=True)

    assert page_messages(disabled) == ["Disabled 2 SMTP user(s)."]
    assert statuses_after_disable == [False, False]
    assert page_messages(enabled) == ["Enabled 1 SMTP user(s)."]
    assert SmtpUser.objects.get(pk=selected[0].pk).is_enabled is True
    assert SmtpUser.objects.get(pk=selected[1].pk).is_enabled is False
    assert log_messages(selected[0]) == ["Set status to Disable.", "Set status to Enable."]
    assert log_messages(selected[1]) == ["Set status to Disable."]


def test_it_resets_passwords_showing_each_once_in_its_own_message(
    support_client, alice, bob, alices_smtp_user, bobs_smtp_user
):
    (alices, alices_old), (bobs, bobs_old) = alices_smtp_user, bobs_smtp_user

    response = run_action(support_client, "reset_smtp_passwords", [alices, bobs], follow=True)
    html = response.content.decode()
    later = support_client.get(CHANGELIST)

    shown = dict(re.findall(r"New password for (smtp\d+) \(owner \w+\): <code>(\w+)</code>", html))
    assert shown.keys() == {alices.smtp_user_name, bobs.smtp_user_name}
    for smtp_user, old_password in [(alices, alices_old), (bobs, bobs_old)]:
        stored = decrypt(SmtpUser.objects.get(pk=smtp_user.pk).password_encrypted)
        assert shown[smtp_user.smtp_user_name] == stored != old_password
        assert len(stored) >= 16
    # Rendered by this response itself: never parked in a messages cookie or the session.
    assert "messages" not in response.cookies
    assert not any(password in later.content.decode() for password in shown.values())
    assert "no-store" in response["Cache-Control"]
    assert log_messages(alices) == ["Reset the SMTP password."]


def test_it_reports_a_service_refusal_and_changes_nothing(
    support_client, alice, alices_smtp_user, monkeypatch
):
    smtp_user, old_password = alices_smtp_user
    second, second_password = create_smtp_user(alice.owner, total_limit=5, hourly_limit=5)
    real_reset = smtpusers_admin.reset_smtp_password
    calls = []

    def reset_refusing_the_second(owner, *, smtp_user_name):
        calls.append(smtp_user_name)
        if len(calls) == 2:
            raise ServiceError(f"SMTP user {smtp_user_name} not found")
        return real_reset(owner, smtp_user_name=smtp_user_name)

    monkeypatch.setattr(smtpusers_admin, "reset_smtp_password", reset_refusing_the_second)

    response = run_action(support_client, "reset_smtp_passwords", [smtp_user, second], follow=True)

    assert len(calls) == 2
    assert page_messages(response) == [f"SMTP user {calls[1]} not found"]
    assert "New password" not in response.content.decode()
    stored = {s.pk: decrypt(s.password_encrypted) for s in SmtpUser.objects.all()}
    assert stored == {smtp_user.pk: old_password, second.pk: second_password}
    assert not LogEntry.objects.exists()


def test_it_runs_no_actions_for_a_login_without_change_permission(client, alice, alices_smtp_user):
    viewer = User.objects.create_user(email="viewer@support.example", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_smtpuser"))
    client.force_login(viewer)

    response = run_action(client, "disable_smtp_users", [alices_smtp_user[0]], follow=True)

    assert SmtpUser.objects.get().is_enabled is True
    assert response.context["action_form"] is None  # no actions offered at all
    assert page_messages(response) == []


# --- The change form --------------------------------------------------------------------------


def edit(client, smtp_user, **changes):
    data = {"total_limit": "1000", "hourly_limit": "100", "status": "Enable", **changes}
    return client.post(change_url(smtp_user), data)


def test_it_edits_limits_and_status_through_update_smtp_user(
    support_client, alice, alices_smtp_user, monkeypatch
):
    smtp_user, _ = alices_smtp_user
    calls = []
    real_update = smtpusers_admin.update_smtp_user

    def spying_update(owner, **kwargs):
        calls.append((owner.owner_id, kwargs))
        return real_update(owner, **kwargs)

    monkeypatch.setattr(smtpusers_admin, "update_smtp_user", spying_update)

    response = edit(
        support_client, smtp_user, total_limit=" 250 ", hourly_limit="25", status="Disable"
    )

    assert response.status_code == 302 and response.url == CHANGELIST
    assert calls == [
        (
            alice.owner_id,
            {
                "smtp_user_name": smtp_user.smtp_user_name,
                "status": "Disable",
                "allowed_networks": [],
                "total_limit": 250,
                "hourly_limit": 25,
                "daily_limit": 0,
            },
        )
    ]
    saved = SmtpUser.objects.get(pk=smtp_user.pk)
    assert (saved.total_limit, saved.hourly_limit, saved.is_enabled) == (250, 25, False)
    assert log_messages(smtp_user) == ["Changed Status, Total limit and Hourly limit."]


@pytest.mark.parametrize("bad_limit", ["0", "-5", "1.5", "1e3", "2147483648", "lots"])
def test_it_refuses_a_bad_limit_with_the_services_message(
    support_client, alices_smtp_user, bad_limit
):
    smtp_user, _ = alices_smtp_user

    response = edit(support_client, smtp_user, total_limit=bad_limit, hourly_limit="7")

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "total_limit": ["total_limit must be a positive integer (1 to 2147483647)"]
    }
    saved = SmtpUser.objects.get(pk=smtp_user.pk)
    assert (saved.total_limit, saved.hourly_limit) == (1000, 100)
    assert not LogEntry.objects.exists()


def test_it_keeps_name_password_owner_and_counters_out_of_reach_of_the_form(
    support_client, alice, bob, alices_smtp_user
):
    smtp_user, password = alices_smtp_user

    response = edit(
        support_client,
        smtp_user,
        smtp_user_name="smtp00000001",
        password_encrypted="forged",
        owner=str(bob.owner.pk),
        total_used="0",
        hour_used="0",
    )

    assert response.status_code == 302
    saved = SmtpUser.objects.get(pk=smtp_user.pk)
    assert saved.smtp_user_name == smtp_user.smtp_user_name
    assert decrypt(saved.password_encrypted) == password
    assert saved.owner_id == alice.owner.pk


def test_it_never_shows_the_password_or_its_ciphertext(superuser_client, alices_smtp_user):
    smtp_user, password = alices_smtp_user
    run_action(superuser_client, "disable_smtp_users", [smtp_user])
    edit(superuser_client, smtp_user, total_limit="999")
    smtp_user.refresh_from_db()

    pages = [
        superuser_client.get(CHANGELIST),
        superuser_client.get(CHANGELIST, {"q": smtp_user.smtp_user_name}),
        superuser_client.get(change_url(smtp_user)),
        superuser_client.get(reverse("admin:smtpusers_smtpuser_history", args=[smtp_user.pk])),
        superuser_client.get(reverse("admin:index")),  # the recent actions box
    ]

    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200 and smtp_user.smtp_user_name in html
        assert password not in html
        assert smtp_user.password_encrypted not in html
        assert "password_encrypted" not in html
    assert LogEntry.objects.count() == 2
    for entry in LogEntry.objects.all():
        assert password not in entry.change_message + entry.object_repr
        assert smtp_user.password_encrypted not in entry.change_message


def test_it_lets_a_superuser_add_an_smtp_user_through_create_smtp_user(superuser_client, alice):
    response = superuser_client.post(
        reverse("admin:smtpusers_smtpuser_add"),
        {"owner": str(alice.owner.pk), "total_limit": "300", "hourly_limit": "30"},
        follow=True,
    )

    created = SmtpUser.objects.get()
    [shown] = NEW_PASSWORD.findall(response.content.decode())
    assert response.status_code == 200 and "messages" not in response.cookies
    assert (created.owner, created.total_limit, created.hourly_limit) == (alice.owner, 300, 30)
    assert re.fullmatch(r"smtp\d{8}", created.smtp_user_name)
    assert decrypt(created.password_encrypted) == shown
    [entry] = LogEntry.objects.all()
    assert entry.is_addition() and shown not in entry.change_message


def test_it_refuses_to_add_with_a_bad_limit(superuser_client, alice):
    response = superuser_client.post(
        reverse("admin:smtpusers_smtpuser_add"),
        {"owner": str(alice.owner.pk), "total_limit": "300", "hourly_limit": "0"},
    )

    assert response.context["adminform"].form.errors == {
        "hourly_limit": ["hourly_limit must be a positive integer (1 to 2147483647)"]
    }
    assert not SmtpUser.objects.exists()


# --- Who may do what --------------------------------------------------------------------------


def test_it_does_not_let_support_add_or_delete_smtp_users(support_client, alices_smtp_user):
    smtp_user, _ = alices_smtp_user

    delete_view = support_client.get(
        reverse("admin:smtpusers_smtpuser_delete", args=[smtp_user.pk])
    )
    delete_post = support_client.post(
        reverse("admin:smtpusers_smtpuser_delete", args=[smtp_user.pk]), {"post": "yes"}
    )
    add_view = support_client.get(reverse("admin:smtpusers_smtpuser_add"))
    changelist = support_client.get(CHANGELIST)
    bulk_delete = run_action(
        support_client, "delete_selected", [smtp_user], post="yes", follow=True
    )

    assert (delete_view.status_code, delete_post.status_code, add_view.status_code) == (403,) * 3
    actions = [name for name, _ in changelist.context["action_form"].fields["action"].choices]
    assert actions == ["", "disable_smtp_users", "enable_smtp_users", "reset_smtp_passwords"]
    assert page_messages(bulk_delete) == ["No action selected."]
    assert SmtpUser.objects.filter(pk=smtp_user.pk).exists()


def test_it_lets_a_superuser_delete(superuser_client, alices_smtp_user):
    smtp_user, _ = alices_smtp_user

    response = superuser_client.post(
        reverse("admin:smtpusers_smtpuser_delete", args=[smtp_user.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not SmtpUser.objects.exists()


def test_it_redirects_an_unknown_status_filter_to_the_error_page(support_client):
    response = support_client.get(CHANGELIST, {"status": "maybe"})

    assert response.status_code == 302 and response.url == f"{CHANGELIST}?e=1"


# --- Words ------------------------------------------------------------------------------------


def test_it_names_models_fields_statuses_and_times_in_words(superuser_client, alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=10, hourly_limit=5)
    SmtpUser.objects.filter(pk=smtp_user.pk).update(
        last_used_at=timezone.now(), last_used_ip="192.0.2.7"
    )

    index = superuser_client.get(reverse("admin:index")).content.decode()
    changelist = superuser_client.get(CHANGELIST, {"status": "Enable"}).content.decode()
    change = superuser_client.get(change_url(smtp_user)).content.decode()

    assert ">SMTP users</a>" in index and ">API tokens</a>" in index
    assert "Smtp users" not in index and "Api tokens" not in index
    assert '<td class="field-status">Enabled</td>' in changelist
    assert ">Enabled</a>" in changelist and ">Disabled</a>" in changelist  # the status filter
    last_used = r'<td class="field-last_used_at[^"]*">\d{4}-\d\d-\d\d \d\d:\d\d UTC</td>'
    assert re.search(last_used, changelist)
    assert "Last used IP:" in change
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", change)

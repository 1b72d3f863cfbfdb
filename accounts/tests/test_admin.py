"""The accounts admin: owners, logins and API tokens for support staff; who may enter at all."""

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import ApiToken, Owner, User
from accounts.services import create_api_token
from smtpusers.services import create_smtp_user

OWNERS = reverse("admin:accounts_owner_changelist")
TOKENS = reverse("admin:accounts_apitoken_changelist")
LOGINS = reverse("admin:accounts_user_changelist")

pytestmark = pytest.mark.django_db


def listed(response) -> list:
    return list(response.context["cl"].result_list)


def page_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def offered_actions(response) -> list[str]:
    action_form = response.context["action_form"]
    return [name for name, _ in action_form.fields["action"].choices] if action_form else []


def queries_for(client, url: str, params: dict) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries), len(listed(response))


def make_owners(count: int) -> None:
    """Owners each with a login, two tokens (one revoked) and two SMTP users."""
    for number in range(count):
        owner = Owner.objects.create(name=f"Customer {number}")
        User.objects.create_user(email=f"{owner.owner_id}@example.com", owner=owner)
        for name in ("live", "old"):
            create_api_token(owner, name=name)
        ApiToken.objects.filter(owner=owner, name="old").update(revoked_at="2026-01-01T00:00Z")
        for _ in range(2):
            create_smtp_user(owner, total_limit=5, hourly_limit=5)


def api_list(tenant):
    return Client().post("/v1.0/settings/listSmtp", tenant.credentials)


# --- Who may enter ----------------------------------------------------------------------------


def test_it_keeps_a_customer_login_out_of_the_admin(client, alice):
    signed_in = client.post(
        "/admin/login/", {"username": alice.login.email, "password": alice.password}
    )
    client.force_login(alice.login)
    index = client.get("/admin/")
    smtp_users = client.get(reverse("admin:smtpusers_smtpuser_changelist"))

    assert "Please enter the correct email address and password for a staff account" in (
        signed_in.content.decode()
    )
    assert index.status_code == 302 and index.url == "/admin/login/?next=/admin/"
    assert smtp_users.status_code == 302 and smtp_users.url.startswith("/admin/login/")


def test_it_lets_createstaff_make_a_support_member_who_can_sign_in(client):
    call_command("createstaff", "Helper@Support.Example", "--password", "Support-Correct-Horse-9")

    staff_member = User.objects.get()
    signed_in = client.post(
        "/admin/login/?next=/admin/",
        {"username": "helper@support.example", "password": "Support-Correct-Horse-9"},
    )
    index = client.get("/admin/")

    assert staff_member.email == "helper@support.example"
    assert (staff_member.is_staff, staff_member.is_superuser, staff_member.owner) == (
        True,
        False,
        None,
    )
    assert [group.name for group in staff_member.groups.all()] == ["Support"]
    assert signed_in.url == "/admin/"
    models = {model["object_name"] for app in index.context["app_list"] for model in app["models"]}
    assert models == {
        "Owner",
        "User",
        "ApiToken",
        "SmtpUser",
        "RelaySetting",
        "AuditEvent",
        "AlertSettings",
        "AlertDelivery",
    }


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (["helper@support.example", "--password", "short"], "too short"),
        (["not-an-email", "--password", "Support-Correct-Horse-9"], "not a valid email address"),
        (["alice@example.com", "--password", "Support-Correct-Horse-9"], "already exists"),
    ],
    ids=["weak-password", "bad-email", "taken-email"],
)
def test_it_refuses_a_bad_createstaff(alice, arguments, error):
    with pytest.raises(CommandError, match=error):
        call_command("createstaff", *arguments)

    assert not User.objects.filter(is_staff=True).exists()


def test_it_gives_the_support_group_view_and_change_but_never_add_or_delete():
    support = Group.objects.get(name="Support")

    granted = sorted(
        f"{permission.content_type.app_label}.{permission.codename}"
        for permission in support.permissions.all()
    )

    assert granted == [
        "accounts.change_apitoken",
        "accounts.change_owner",
        "accounts.view_apitoken",
        "accounts.view_owner",
        "accounts.view_user",
        "alerts.view_alertdelivery",
        "alerts.view_alertsettings",
        "audit.view_auditevent",
        "relaysettings.change_relaysetting",
        "relaysettings.view_relaysetting",
        "smtpusers.change_smtpuser",
        "smtpusers.view_smtpuser",
    ]


@pytest.mark.parametrize("model", ["owner", "apitoken", "user"])
def test_it_does_not_let_support_delete(support_client, alice, model):
    obj = {"owner": alice.owner, "apitoken": ApiToken.objects.get(), "user": alice.login}[model]
    delete_url = reverse(f"admin:accounts_{model}_delete", args=[obj.pk])
    changelist_url = reverse(f"admin:accounts_{model}_changelist")

    delete_view = support_client.get(delete_url)
    delete_post = support_client.post(delete_url, {"post": "yes"})
    changelist = support_client.get(changelist_url)
    bulk_delete = support_client.post(
        changelist_url,
        {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
        follow=True,
    )

    assert (delete_view.status_code, delete_post.status_code) == (403, 403)
    assert "delete_selected" not in offered_actions(changelist)
    assert bulk_delete.status_code == 200
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_it_offers_superusers_the_delete_action(superuser_client, alice):
    changelist = superuser_client.get(OWNERS)

    assert "delete_selected" in offered_actions(changelist)


# --- Owners -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "search_for",
    ["Alic", "alice@example.com", "ALICE@", "owner_id"],
    ids=["name", "login-email", "email-any-case", "owner-id"],
)
def test_it_finds_an_owner_by_name_owner_id_or_login_email(support_client, alice, bob, search_for):
    query = alice.owner_id if search_for == "owner_id" else search_for

    response = support_client.get(OWNERS, {"q": query})

    assert listed(response) == [alice.owner]


def test_it_shows_owner_counts_that_link_to_the_owners_rows(support_client, alice, bob):
    for _ in range(3):
        create_smtp_user(alice.owner, total_limit=5, hourly_limit=5)
    create_smtp_user(bob.owner, total_limit=5, hourly_limit=5)
    revoked, _ = create_api_token(alice.owner, name="old")
    ApiToken.objects.filter(pk=revoked.pk).update(revoked_at="2026-01-01T00:00Z")

    response = support_client.get(OWNERS, {"q": "alice"})
    html = response.content.decode()
    smtp_users_url = reverse("admin:smtpusers_smtpuser_changelist") + f"?owner={alice.owner_id}"
    tokens_url = f"{TOKENS}?owner={alice.owner_id}"
    alices_smtp_users = support_client.get(smtp_users_url)
    alices_tokens = support_client.get(tokens_url)

    [row] = listed(response)
    assert (row.smtp_user_count, row.live_api_token_count) == (3, 1)
    assert f'<a href="{smtp_users_url}">3</a>' in html
    assert f'<a href="{tokens_url}">1</a>' in html
    assert "alice@example.com" in html
    assert {smtp_user.owner for smtp_user in listed(alices_smtp_users)} == {alice.owner}
    assert len(listed(alices_smtp_users)) == 3
    assert sorted(token.name for token in listed(alices_tokens)) == ["default", "old"]


def test_it_lists_1_or_100_owners_with_the_same_number_of_queries(support_client):
    make_owners(1)
    one_count, one_listed = queries_for(support_client, OWNERS, {"q": "example.com", "o": "-5.6"})
    make_owners(99)
    many_count, many_listed = queries_for(support_client, OWNERS, {"q": "example.com", "o": "-5.6"})

    assert (one_listed, many_listed) == (1, 100)
    assert many_count == one_count
    print(f"Owners changelist (search by email): {one_count} queries for 1 and for 100 rows")


def test_it_renames_and_deactivates_an_owner_through_the_service(support_client, alice):
    change_url = reverse("admin:accounts_owner_change", args=[alice.owner.pk])
    before = api_list(alice)

    response = support_client.post(change_url, {"name": "  Alice Ltd  "})  # is_active unticked
    after = api_list(alice)

    assert response.status_code == 302
    owner = Owner.objects.get(pk=alice.owner.pk)
    assert (owner.name, owner.is_active) == ("Alice Ltd", False)
    assert (before.status_code, after.status_code) == (200, 401)
    [entry] = LogEntry.objects.all()
    assert entry.get_change_message() == "Changed Name and Is active."


def test_it_refuses_a_blank_owner_name_with_the_services_message(support_client, alice):
    change_url = reverse("admin:accounts_owner_change", args=[alice.owner.pk])

    response = support_client.post(change_url, {"name": "   ", "is_active": "on"})

    assert response.context["adminform"].form.errors == {"name": ["This field is required."]}
    assert Owner.objects.get(pk=alice.owner.pk).name == "Alice"


def test_it_has_no_add_owner_page(superuser_client):
    response = superuser_client.get(reverse("admin:accounts_owner_add"))

    assert response.status_code == 403


# --- API tokens -------------------------------------------------------------------------------


def test_it_shows_token_name_and_prefix_but_never_the_token_or_its_hash(superuser_client, alice):
    api_token = ApiToken.objects.get(owner=alice.owner)

    pages = [
        superuser_client.get(TOKENS),
        superuser_client.get(reverse("admin:accounts_apitoken_change", args=[api_token.pk])),
    ]

    for page in pages:
        html = page.content.decode()
        assert f"{api_token.prefix}…" in html and "default" in html
        assert alice.token not in html
        assert api_token.token_hash not in html


def test_it_revokes_tokens_through_the_action_and_the_api_then_refuses_them(
    support_client, alice, bob
):
    alices_token = ApiToken.objects.get(owner=alice.owner)
    before = api_list(alice)

    response = support_client.post(
        TOKENS, {"action": "revoke_api_tokens", "_selected_action": [alices_token.pk]}, follow=True
    )
    again = support_client.post(
        TOKENS, {"action": "revoke_api_tokens", "_selected_action": [alices_token.pk]}, follow=True
    )

    assert page_messages(response) == ["Revoked 1 API token(s)."]
    assert page_messages(again) == ["Revoked 0 API token(s)."]
    assert ApiToken.objects.get(pk=alices_token.pk).revoked_at is not None
    assert (before.status_code, api_list(alice).status_code, api_list(bob).status_code) == (
        200,
        401,
        200,
    )
    [entry] = LogEntry.objects.all()
    assert entry.get_change_message() == "Revoked the API token."
    assert alice.token not in entry.change_message + entry.object_repr


def test_it_keeps_the_token_page_read_only_and_offers_no_add(support_client, alice):
    api_token = ApiToken.objects.get(owner=alice.owner)
    change_url = reverse("admin:accounts_apitoken_change", args=[api_token.pk])

    page = support_client.get(change_url)
    post = support_client.post(change_url, {"name": "renamed"})
    add = support_client.get(reverse("admin:accounts_apitoken_add"))

    assert 'type="submit" value="Save"' not in page.content.decode()
    assert post.status_code == 403
    assert add.status_code == 403
    assert ApiToken.objects.get(pk=api_token.pk).name == "default"


def test_it_finds_tokens_by_prefix_and_filters_by_state(support_client, alice, bob):
    alices_token = ApiToken.objects.get(owner=alice.owner)
    ApiToken.objects.filter(owner=bob.owner).update(revoked_at="2026-01-01T00:00Z")

    by_prefix = support_client.get(TOKENS, {"q": alices_token.prefix})
    live = support_client.get(TOKENS, {"state": "live"})
    revoked = support_client.get(TOKENS, {"state": "revoked"})

    assert listed(by_prefix) == [alices_token]
    assert [token.owner for token in listed(live)] == [alice.owner]
    assert [token.owner for token in listed(revoked)] == [bob.owner]


def test_it_lists_1_or_100_tokens_with_the_same_number_of_queries(support_client):
    make_owners(1)
    one_count, _ = queries_for(support_client, TOKENS, {})
    make_owners(49)
    many_count, many_listed = queries_for(support_client, TOKENS, {})

    assert many_listed == 100
    assert many_count == one_count
    print(f"API tokens changelist: {one_count} queries for 2 and for 100 rows")


# --- Logins -----------------------------------------------------------------------------------


def test_it_lists_1_or_100_logins_with_the_same_number_of_queries(support_client):
    make_owners(1)
    one_count, _ = queries_for(support_client, LOGINS, {"q": "example.com"})
    make_owners(99)
    many_count, many_listed = queries_for(support_client, LOGINS, {"q": "example.com"})

    assert many_listed == 100
    assert many_count == one_count
    print(f"Logins changelist (search by email): {one_count} queries for 1 and for 100 rows")


def test_it_finds_a_login_by_email_or_owner(support_client, alice, bob):
    by_email = support_client.get(LOGINS, {"q": "alice@"})
    by_owner_id = support_client.get(LOGINS, {"q": alice.owner_id})

    assert listed(by_email) == [alice.login]
    assert listed(by_owner_id) == [alice.login]


def test_it_lets_a_superuser_add_a_customer_login_with_the_email_stored_lowercase(
    superuser_client, alice
):
    response = superuser_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": " Carol@Example.COM ",
            "owner": str(alice.owner.pk),
            "usable_password": "true",
            "password1": "Carol-Correct-Horse-9",
            "password2": "Carol-Correct-Horse-9",
        },
    )
    duplicate = superuser_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "CAROL@example.com",
            "usable_password": "true",
            "password1": "Carol-Correct-Horse-9",
            "password2": "Carol-Correct-Horse-9",
        },
    )

    assert response.status_code == 302
    carol = User.objects.get(email="carol@example.com")
    assert carol.owner == alice.owner and carol.check_password("Carol-Correct-Horse-9")
    assert duplicate.context["adminform"].form.errors == {
        "email": ["User with this Email address already exists."]
    }
    for entry in LogEntry.objects.all():
        assert "Carol-Correct-Horse-9" not in entry.change_message


def test_it_hides_even_the_masked_password_hash_from_support(support_client, alice):
    change_url = reverse("admin:accounts_user_change", args=[alice.login.pk])
    algorithm = alice.login.password.split("$")[0]

    support_page = support_client.get(change_url).content.decode()

    assert "alice@example.com" in support_page
    assert algorithm not in support_page
    assert not re.search(r"hash:|salt:", support_page)


def test_it_shows_superusers_the_masked_password_summary(superuser_client, alice):
    change_url = reverse("admin:accounts_user_change", args=[alice.login.pk])

    page = superuser_client.get(change_url).content.decode()

    assert alice.login.password.split("$")[0] in page
    assert alice.login.password not in page

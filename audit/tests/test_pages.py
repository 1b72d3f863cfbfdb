"""The customer's activity page."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.services import create_api_token
from smtpusers import services


def test_it_shows_only_the_owners_activity(client, alice, bob):
    mine, _ = services.create_smtp_user(alice.owner, total_limit=5, hourly_limit=1)
    theirs, _ = services.create_smtp_user(bob.owner, total_limit=5, hourly_limit=1)
    client.force_login(alice.login)
    html = client.get("/activity/").content.decode()
    assert f"SMTP user {mine.smtp_user_name}" in html
    assert theirs.smtp_user_name not in html


def test_it_filters_by_kind(client, alice):
    smtp_user, _ = services.create_smtp_user(alice.owner, total_limit=5, hourly_limit=1)
    create_api_token(alice.owner, name="deploy-key")
    client.force_login(alice.login)
    tokens_only = client.get("/activity/", {"kind": "api_token."}).content.decode()
    assert "API token deploy-key" in tokens_only
    assert smtp_user.smtp_user_name not in tokens_only


def test_it_records_the_signed_in_login_as_the_actor(client, alice):
    client.force_login(alice.login)
    client.post("/smtp-users/new/", {"total_limit": 10, "hourly_limit": 2})
    page = client.get("/activity/")
    event = page.context["page_obj"][0]
    assert (event.action, event.actor, event.source_ip) == (
        "smtp_user.create",
        "login alice@example.com",
        "127.0.0.1",
    )


def test_it_requires_a_login(client, alice):
    response = client.get("/activity/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_costs_the_same_queries_for_1_and_120_events(client, alice):
    client.force_login(alice.login)
    services.create_smtp_user(alice.owner, total_limit=5, hourly_limit=1)

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/activity/").status_code == 200
        return len(captured)

    one = count()
    for _ in range(119):
        services.create_smtp_user(alice.owner, total_limit=5, hourly_limit=1)
    assert count() == one

"""The usage page of an SMTP user and the owner's messages page."""

import re
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from mailqueue.models import QueuedMessage
from smtpusers.quota import consume_send_quota
from smtpusers.services import create_smtp_user
from testing.submission import queue_messages


def test_it_sends_the_old_usage_page_to_the_smtp_users_page_with_the_charts(alice, alice_client):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)
    now = timezone.now()
    for moment in [now - timedelta(hours=5)] * 2 + [now] * 3:
        consume_send_quota(smtp_user.pk, now=moment)

    response = alice_client.get(f"/usage/{smtp_user.smtp_user_name}/", follow=True)

    body = response.content.decode()
    assert response.redirect_chain == [(f"/smtp-users/{smtp_user.smtp_user_name}/", 302)]
    assert re.search(r'data-testid="hour-usage">3 of 10<', body)
    assert re.search(r'data-testid="total-usage">5 of 100<', body)
    hourly_chart = body[: body.index("Last 30 days")]
    assert hourly_chart.count('<rect class="bar"') == 2
    assert "5 messages in the last 48 hours" in body
    assert "5 messages in the last 30 days" in body
    assert f"{now:%Y-%m-%d %H}:00 UTC: 3 messages</title>" in body


def test_it_answers_404_for_another_owners_smtp_user(bob, alice_client):
    smtp_user, _ = create_smtp_user(bob.owner, total_limit=100, hourly_limit=10)

    response = alice_client.get(f"/usage/{smtp_user.smtp_user_name}/")
    missing = alice_client.get("/usage/smtp99999999/")

    assert (response.status_code, missing.status_code) == (404, 404)
    assert response.content == missing.content


def test_it_sends_visitors_to_the_login_and_refuses_staff(client, db):
    anonymous = client.get("/messages/")
    staff = User.objects.create_user(email="staff@example.com", password="x", is_staff=True)
    client.force_login(staff)
    staff_response = client.get("/messages/")

    assert (anonymous.status_code, anonymous.url) == (302, "/accounts/login/?next=/messages/")
    assert staff_response.status_code == 403
    assert b"<table" not in staff_response.content


def test_it_lists_the_owners_messages_with_status_recipients_and_errors(alice, bob, alice_client):
    first, _ = queue_messages(alice, "alice.example", 2)
    queue_messages(bob, "bob.example", 1)
    QueuedMessage.objects.filter(pk=first.pk).update(
        status="failed", attempts=1, last_error="550 5.1.1 <reader0@destination.test>: unknown"
    )

    body = alice_client.get("/messages/").content.decode()

    assert "news@bob.example" not in body
    assert body.count("news@alice.example") == 2
    assert "reader1@destination.test, copy@destination.test" in body
    assert "550 5.1.1 &lt;reader0@destination.test&gt;: unknown" in body
    assert '<span class="badge failed">Failed</span>' in body
    assert '<span class="badge queued">Queued</span>' in body
    # Newest first.
    assert body.index("reader1@destination.test") < body.index("reader0@destination.test")


def test_it_pages_the_messages_with_a_constant_number_of_queries(alice, alice_client):
    queue_messages(alice, "alice.example", 3)
    with CaptureQueriesContext(connection) as few:
        alice_client.get("/messages/")
    queue_messages(alice, "alice2.example", 57)
    with CaptureQueriesContext(connection) as many:
        first_page = alice_client.get("/messages/").content.decode()
    second_page = alice_client.get("/messages/?page=2").content.decode()

    assert len(many) == len(few)
    assert first_page.count("<tr>") == 1 + 50
    assert "Page 1 of 2 (60 messages)" in first_page
    assert 'href="?page=2" rel="next"' in first_page
    assert second_page.count("<tr>") == 1 + 10
    # The list never loads message contents.
    assert all('"data"' not in query["sql"] for query in many.captured_queries)

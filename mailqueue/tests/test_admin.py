"""The read-only mail queue in the staff admin."""

import pytest

from accounts.models import User
from mailqueue.models import QueuedMessage
from testing.submission import queue_messages


@pytest.fixture
def staff_client(client, db):
    staff = User.objects.create_superuser(email="staff@example.com", password="x")
    client.force_login(staff)
    return client


def test_it_lists_queued_messages_to_staff_without_their_content(alice, staff_client):
    (message,) = queue_messages(alice, "alice.example", 1)

    listing = staff_client.get("/admin/mailqueue/queuedmessage/").content.decode()
    detail = staff_client.get(f"/admin/mailqueue/queuedmessage/{message.pk}/change/")

    assert "news@alice.example" in listing
    assert detail.status_code == 200
    assert "Subject: x" not in detail.content.decode()
    assert 'name="status"' not in detail.content.decode()  # read-only: no form fields


def test_it_lets_no_one_edit_or_delete_the_queue_in_the_admin(alice, staff_client):
    (message,) = queue_messages(alice, "alice.example", 1)

    response = staff_client.post(
        f"/admin/mailqueue/queuedmessage/{message.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 403
    assert QueuedMessage.objects.filter(pk=message.pk).exists()

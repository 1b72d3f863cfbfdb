"""The read-only mail queue in the staff admin."""

from mailqueue.models import QueuedMessage
from testing.submission import queue_messages


def test_it_lists_queued_messages_to_staff_without_their_content(alice, superuser_client):
    (message,) = queue_messages(alice, "alice.example", 1)

    listing = superuser_client.get("/admin/mailqueue/queuedmessage/").content.decode()
    detail = superuser_client.get(f"/admin/mailqueue/queuedmessage/{message.pk}/change/")

    assert "news@alice.example" in listing
    assert detail.status_code == 200
    assert "Subject: x" not in detail.content.decode()
    assert 'name="status"' not in detail.content.decode()  # read-only: no form fields


def test_it_lets_no_one_edit_or_delete_the_queue_in_the_admin(alice, superuser_client):
    (message,) = queue_messages(alice, "alice.example", 1)

    response = superuser_client.post(
        f"/admin/mailqueue/queuedmessage/{message.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 403
    assert QueuedMessage.objects.filter(pk=message.pk).exists()

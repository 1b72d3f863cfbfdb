"""What a login opens: a password reset ends the SMTP sessions the old password opened."""

import smtplib

import pytest
from django.urls import reverse

from mailqueue.models import QueuedMessage
from smtpusers.services import create_smtp_user, reset_smtp_password
from testing.http import post_json
from testing.submission import connect, make_relay_setting, message_bytes

TO = ["reader@destination.test"]


@pytest.fixture
def sender(alice):
    """Alice's SMTP user and email settings for alice.example (nothing is delivered here)."""
    make_relay_setting(alice.owner, "alice.example", 2525)
    return create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)


def changed_reply(smtp_user) -> tuple[int, str]:
    return (
        535,
        f"5.7.8 The credentials of SMTP user {smtp_user.smtp_user_name} changed since this "
        "session logged in; log in again",
    )


def reset_through_the_api(client, alice, smtp_user) -> str:
    response = post_json(
        client,
        "/v1.0/settings/resetSmtpPassword",
        {**alice.credentials, "smtp_user_name": smtp_user.smtp_user_name},
    )
    assert response.status_code == 200, response.content
    return response.json()["smtp_password"]


def reset_on_the_dashboard(client, alice, smtp_user) -> None:
    client.force_login(alice.login)
    response = client.post(
        reverse("smtpusers:reset-password", args=[smtp_user.smtp_user_name]), follow=True
    )
    assert response.status_code == 200, response.content
    assert "smtp-password" in response.content.decode()


@pytest.mark.parametrize("reset", [reset_through_the_api, reset_on_the_dashboard])
def test_it_ends_a_session_logged_in_before_a_password_reset(
    reset, client, alice, sender, start_server, client_tls
):
    smtp_user, password = sender
    server = start_server(deliver=False)
    with connect(server, client_tls) as session:
        session.login(smtp_user.smtp_user_name, password)
        reset(client, alice, smtp_user)

        refused_mail = session.mail("news@alice.example")
        # The old login is over: MAIL now asks for a login, and the old password fails.
        after = session.mail("news@alice.example")
        with pytest.raises(smtplib.SMTPAuthenticationError) as old_password:
            session.login(smtp_user.smtp_user_name, password)

    assert (refused_mail[0], refused_mail[1].decode()) == changed_reply(smtp_user)
    assert after == (530, b"5.7.0 Authentication required")
    assert old_password.value.smtp_code == 535
    smtp_user.refresh_from_db()
    assert (smtp_user.total_used, QueuedMessage.objects.count()) == (0, 0)


def test_it_lets_the_same_connection_log_in_again_with_the_new_password(
    client, alice, sender, start_server, client_tls
):
    smtp_user, password = sender
    server = start_server(deliver=False)
    with connect(server, client_tls) as session:
        session.login(smtp_user.smtp_user_name, password)
        new_password = reset_through_the_api(client, alice, smtp_user)
        assert session.mail("news@alice.example")[0] == 535

        session.login(smtp_user.smtp_user_name, new_password)
        message = message_bytes("news@alice.example", TO)
        refused = session.sendmail("news@alice.example", TO, message)

    assert refused == {}
    smtp_user.refresh_from_db()
    assert (smtp_user.total_used, QueuedMessage.objects.count()) == (1, 1)


def test_it_refuses_data_when_the_password_is_reset_after_mail(
    alice, sender, start_server, client_tls
):
    smtp_user, password = sender
    server = start_server(deliver=False)
    with connect(server, client_tls) as session:
        session.login(smtp_user.smtp_user_name, password)
        assert session.mail("news@alice.example")[0] == 250
        assert session.rcpt(TO[0])[0] == 250
        reset_smtp_password(alice.owner, smtp_user_name=smtp_user.smtp_user_name)
        code, reply = session.data(message_bytes("news@alice.example", TO))
        after = session.mail("news@alice.example")

    assert (code, reply.decode()) == changed_reply(smtp_user)
    assert after[0] == 530
    smtp_user.refresh_from_db()
    # Refused before anything was kept: no quota used, nothing queued, no refusal recorded.
    assert (smtp_user.total_used, QueuedMessage.objects.count(), smtp_user.last_refusal) == (
        0,
        0,
        "",
    )

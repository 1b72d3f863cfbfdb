"""The client's SMTP users calls (`client.settings`) against a live portal."""

import pytest
import smtprelay

from smtpusers.models import SmtpUser


def smtp_user_of(owner, smtp_user_name) -> SmtpUser:
    return SmtpUser.objects.get(owner=owner, smtp_user_name=smtp_user_name)


def test_it_creates_an_smtp_user_and_returns_the_answer_as_is(alice, alice_client):
    result = alice_client.settings.addSmtpUser(total_limit=500, hourly_limit=200)

    assert set(result) == {"status", "message", "smtp_user_name", "smtp_password"}
    assert result["status"] == "success"
    assert result["message"] == "SMTP User Created"
    assert len(result["smtp_password"]) >= 16
    smtp_user = smtp_user_of(alice.owner, result["smtp_user_name"])
    assert (smtp_user.total_limit, smtp_user.hourly_limit) == (500, 200)


def test_it_accepts_the_seeds_positional_arguments_and_method_aliases(alice, alice_client):
    created = alice_client.settings.addSmtp(50, 5)
    name = created["smtp_user_name"]

    edited = alice_client.settings.editSmtpUser(name, 60, 6, "Disable")

    assert edited == {"status": "success", "message": "SMTP User Updated"}
    smtp_user = smtp_user_of(alice.owner, name)
    assert (smtp_user.total_limit, smtp_user.hourly_limit, smtp_user.status) == (60, 6, "Disable")


def test_it_leaves_out_none_arguments_so_edit_keeps_those_values(alice, alice_client):
    name = alice_client.settings.addSmtpUser(total_limit=1000, hourly_limit=100)["smtp_user_name"]

    alice_client.settings.editSmtp(
        smtp_user_name=name, total_limit=None, hourly_limit=300, status=None
    )

    smtp_user = smtp_user_of(alice.owner, name)
    assert (smtp_user.total_limit, smtp_user.hourly_limit, smtp_user.status) == (
        1000,
        300,
        "Enable",
    )


def test_it_disables_and_enables_with_any_letter_case(alice_client):
    name = alice_client.settings.addSmtpUser(total_limit=10, hourly_limit=1)["smtp_user_name"]

    alice_client.settings.editSmtp(name, status="disable")
    after_disable = alice_client.settings.listSmtp()["smtp_list"][0]["status"]
    alice_client.settings.editSmtp(name, status="ENABLE")
    after_enable = alice_client.settings.listSmtp()["smtp_list"][0]["status"]

    assert (after_disable, after_enable) == ("Disable", "Enable")


def test_it_resets_the_password_and_list_shows_the_new_one(alice_client):
    created = alice_client.settings.addSmtpUser(total_limit=10, hourly_limit=1)

    reset = alice_client.settings.resetSmtpPassword(smtp_user_name=created["smtp_user_name"])

    assert reset["status"] == "success"
    assert reset["message"] == "password reseted"
    assert reset["smtp_user_name"] == created["smtp_user_name"]
    assert reset["smtp_password"] != created["smtp_password"]
    listed = alice_client.settings.listSmtp()["smtp_list"][0]
    assert listed["smtp_password"] == listed["password"] == reset["smtp_password"]


def test_it_lists_only_the_owners_smtp_users_oldest_first(alice_client, bob_client):
    first = alice_client.settings.addSmtpUser(total_limit=100, hourly_limit=10)
    second = alice_client.settings.addSmtpUser(total_limit=200, hourly_limit=20)
    bob_client.settings.addSmtpUser(total_limit=300, hourly_limit=30)

    result = alice_client.settings.listSmtp()

    assert result["status"] == "success"
    assert [
        (item["smtp_user_name"], item["total_limit"], item["hourly_limit"], item["status"])
        for item in result["smtp_list"]
    ] == [
        (first["smtp_user_name"], 100, 10, "Enable"),
        (second["smtp_user_name"], 200, 20, "Enable"),
    ]


def test_it_lists_nothing_for_a_new_owner(alice_client):
    assert alice_client.settings.listSmtp() == {"status": "success", "smtp_list": []}


def test_it_raises_authentication_error_for_a_wrong_token(alice, portal_client):
    client = portal_client(alice.owner_id, "not-the-token")

    with pytest.raises(smtprelay.AuthenticationError) as caught:
        client.settings.listSmtp()

    error = caught.value
    assert (error.name, error.code, error.status_code, error.message) == (
        "AuthenticationError",
        -1,
        401,
        "Token MissMatch",
    )
    assert str(error) == "Token MissMatch (HTTP 401)"
    assert isinstance(error, smtprelay.Error)


def test_it_raises_validation_error_for_a_bad_limit(alice, alice_client):
    with pytest.raises(smtprelay.ValidationError) as caught:
        alice_client.settings.addSmtpUser(total_limit=0, hourly_limit=10)

    error = caught.value
    assert type(error) is smtprelay.ValidationError
    assert (error.name, error.code, error.status_code) == ("ValidationError", -1, 400)
    assert "total_limit must be a positive integer" in error.message
    assert str(error) == f"{error.message} (HTTP 400)"
    assert not SmtpUser.objects.filter(owner=alice.owner).exists()


def test_it_raises_not_found_error_a_validation_error_for_an_unknown_smtp_user(alice_client):
    with pytest.raises(smtprelay.NotFoundError) as caught:
        alice_client.settings.resetSmtpPassword("smtp99999999")

    error = caught.value
    assert isinstance(error, smtprelay.ValidationError)
    assert (error.name, error.status_code) == ("ValidationError", 404)
    assert "smtp99999999" in error.message


def test_it_cannot_touch_another_owners_smtp_user(alice, alice_client, bob_client):
    name = alice_client.settings.addSmtpUser(total_limit=10, hourly_limit=1)["smtp_user_name"]

    with pytest.raises(smtprelay.NotFoundError) as edit:
        bob_client.settings.editSmtp(name, status="Disable")
    with pytest.raises(smtprelay.NotFoundError) as reset:
        bob_client.settings.resetSmtpPassword(name)

    assert edit.value.status_code == reset.value.status_code == 404
    assert smtp_user_of(alice.owner, name).status == "Enable"


def test_it_raises_general_error_when_the_portal_throttles_failed_logins(alice, portal_client):
    client = portal_client(alice.owner_id, "wrong-token", max_retries=0)
    failures = []
    for _ in range(40):
        try:
            client.settings.listSmtp()
        except smtprelay.Error as error:
            failures.append(error)
            if isinstance(error, smtprelay.GeneralError):
                break

    throttled = failures[-1]
    assert isinstance(throttled, smtprelay.GeneralError)
    assert (throttled.name, throttled.status_code) == ("GeneralError", 429)
    assert "Too many failed authentications" in throttled.message
    assert all(isinstance(error, smtprelay.AuthenticationError) for error in failures[:-1])


def test_it_keeps_credentials_out_of_errors_and_repr(alice, live_server, portal_client):
    client = portal_client(alice.owner_id, alice.token + "x")

    with pytest.raises(smtprelay.AuthenticationError) as caught:
        client.settings.addSmtpUser(total_limit=1, hourly_limit=1)

    shown = [str(caught.value), repr(caught.value), repr(client), repr(client.settings)]
    assert not any(alice.token in text or alice.owner_id in text for text in shown)
    assert repr(client) == f"<smtprelay.Client {live_server.url}/v1.0/>"

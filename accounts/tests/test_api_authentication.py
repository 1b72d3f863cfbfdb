"""API tokens are remembered by each process for at most a second (accounts/token_cache.py):
revoking, deleting or deactivating takes effect at once in the process that did it, and
within a second in every other one."""

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import ApiToken, Owner
from accounts.services import revoke_api_token, update_owner
from testing.http import assert_error, post_json

LIST = "/v1.0/settings/listSmtp"


def alices_token(alice) -> ApiToken:
    return ApiToken.objects.get(owner=alice.owner)


def revoke(alice):
    revoke_api_token(alice.owner, token_id=alices_token(alice).pk)


def deactivate(alice):
    update_owner(alice.owner, is_active=False)


def delete_token(alice):
    alices_token(alice).delete()


def delete_owner(alice):
    Owner.objects.get(pk=alice.owner.pk).delete()


@pytest.mark.parametrize("change", [revoke, deactivate, delete_token, delete_owner])
def test_it_refuses_a_token_at_once_after_a_change_in_this_process(
    client, alice, token_clock, change
):
    assert post_json(client, LIST, alice.credentials).status_code == 200

    change(alice)

    assert_error(post_json(client, LIST, alice.credentials), 401, "AuthenticationError")


# What another process (another gunicorn worker, the admin on another host) does: the same
# rows changed, without this process hearing of it.
def revoke_elsewhere(alice):
    ApiToken.objects.filter(owner=alice.owner).update(revoked_at=timezone.now())


def deactivate_elsewhere(alice):
    Owner.objects.filter(pk=alice.owner.pk).update(is_active=False)


def delete_token_elsewhere(alice):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_apitoken WHERE owner_id = %s", [alice.owner.pk])


@pytest.mark.parametrize("change", [revoke_elsewhere, deactivate_elsewhere, delete_token_elsewhere])
def test_it_refuses_a_token_within_a_second_after_a_change_in_another_process(
    client, alice, token_clock, change
):
    assert post_json(client, LIST, alice.credentials).status_code == 200

    change(alice)
    token_clock.advance(0.5)
    still_remembered = post_json(client, LIST, alice.credentials)
    token_clock.advance(0.5)
    refused = post_json(client, LIST, alice.credentials)

    assert still_remembered.status_code == 200
    assert_error(refused, 401, "AuthenticationError")


def test_it_serves_a_remembered_token_without_a_query_and_rereads_it_after_a_second(
    client, alice, token_clock, django_assert_num_queries
):
    post_json(client, LIST, alice.credentials)  # reads the token and records its last use

    with django_assert_num_queries(1):  # the SMTP users only
        assert post_json(client, LIST, alice.credentials).status_code == 200
    token_clock.advance(1)
    with django_assert_num_queries(2):
        assert post_json(client, LIST, alice.credentials).status_code == 200


def test_it_records_the_tokens_last_use(client, alice):
    before = timezone.now()

    post_json(client, LIST, alice.credentials)

    assert alices_token(alice).last_used_at >= before


def test_it_still_checks_the_owner_id_of_a_remembered_token(client, alice, bob, token_clock):
    assert post_json(client, LIST, alice.credentials).status_code == 200

    response = post_json(client, LIST, {"owner_id": bob.owner_id, "token": alice.token})

    assert_error(response, 401, "AuthenticationError", "Token MissMatch")

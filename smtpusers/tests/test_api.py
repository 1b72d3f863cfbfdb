"""The seed-compatible SMTP users API, through HTTP (docs/api.md §1)."""

import json
import uuid

import pytest
from django.core.cache import CacheHandler, caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.services import create_api_token, revoke_api_token
from smtpusers.models import SmtpUser
from smtpusers.selectors import smtp_password_of
from smtpusers.services import create_smtp_user
from testing.http import assert_error, post_form, post_json

PREFIXES = ["/v1.0/settings/", "/settings/"]
def snapshot():
    """Everything an API call could change, to prove a refused call changed nothing."""
    return sorted(
        SmtpUser.objects.values_list(
            "smtp_user_name", "password_encrypted", "total_limit", "hourly_limit", "is_enabled"
        )
    )


# --- addSmtp -------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("call", ["addSmtp", "addSmtpUser"])
def test_it_creates_an_smtp_user_with_json(client, alice, prefix, call):
    response = post_json(
        client, prefix + call, {**alice.credentials, "total_limit": 500, "hourly_limit": 200}
    )
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"status", "message", "smtp_user_name", "smtp_password"}
    assert body["status"] == "success"
    assert body["message"] == "SMTP User Created"
    assert body["smtp_user_name"].startswith("smtp")
    assert body["smtp_user_name"][4:].isdigit()
    assert len(body["smtp_password"]) >= 16
    smtp_user = SmtpUser.objects.get(smtp_user_name=body["smtp_user_name"])
    assert smtp_user.owner == alice.owner
    assert (smtp_user.total_limit, smtp_user.hourly_limit, smtp_user.is_enabled) == (500, 200, True)
    assert smtp_password_of(smtp_user) == body["smtp_password"]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_it_creates_an_smtp_user_with_a_form_body_of_strings(client, alice, prefix):
    response = post_form(
        client,
        prefix + "addSmtp",
        {**alice.credentials, "total_limit": "500", "hourly_limit": "20"},
    )
    assert response.status_code == 200
    smtp_user = SmtpUser.objects.get(smtp_user_name=response.json()["smtp_user_name"])
    assert (smtp_user.total_limit, smtp_user.hourly_limit) == (500, 20)


def test_it_accepts_credentials_as_headers(client, alice):
    response = post_json(
        client, "/v1.0/settings/addSmtp", {"total_limit": 5, "hourly_limit": 1}, **alice.headers
    )
    assert response.json()["status"] == "success"
    assert SmtpUser.objects.filter(owner=alice.owner).count() == 1


def test_it_accepts_a_trailing_slash_without_redirecting(client, alice):
    response = post_json(client, "/settings/listSmtp/", alice.credentials)
    assert response.status_code == 200
    assert response.json() == {"status": "success", "smtp_list": []}


def test_it_accepts_the_largest_limit(client, alice):
    response = post_json(
        client,
        "/settings/addSmtp",
        {**alice.credentials, "total_limit": 2147483647, "hourly_limit": "2147483647"},
    )
    assert response.status_code == 200
    assert SmtpUser.objects.get().total_limit == 2147483647


# --- editSmtp ------------------------------------------------------------------------------


@pytest.fixture
def alices_smtp_user(alice):
    smtp_user, _ = create_smtp_user(alice.owner, total_limit=100, hourly_limit=10)
    return smtp_user


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("call", ["editSmtp", "editSmtpUser"])
def test_it_edits_limits_and_status(client, alice, alices_smtp_user, prefix, call):
    response = post_json(
        client,
        prefix + call,
        {
            **alice.credentials,
            "smtp_user_name": alices_smtp_user.smtp_user_name,
            "total_limit": 1000,
            "hourly_limit": 50,
            "status": "Disable",
        },
    )
    assert response.status_code == 200
    assert response.json() == {"status": "success", "message": "SMTP User Updated"}
    alices_smtp_user.refresh_from_db()
    assert (alices_smtp_user.total_limit, alices_smtp_user.hourly_limit) == (1000, 50)
    assert alices_smtp_user.is_enabled is False


def test_it_keeps_left_out_and_null_parameters(client, alice, alices_smtp_user):
    response = post_json(
        client,
        "/settings/editSmtp",
        {
            **alice.credentials,
            "smtp_user_name": alices_smtp_user.smtp_user_name,
            "total_limit": 1000,
            "hourly_limit": None,
        },
    )
    assert response.json()["status"] == "success"
    alices_smtp_user.refresh_from_db()
    assert (alices_smtp_user.total_limit, alices_smtp_user.hourly_limit) == (1000, 10)
    assert alices_smtp_user.is_enabled is True


def test_it_succeeds_on_an_edit_with_only_the_name(client, alice, alices_smtp_user):
    before = snapshot()
    response = post_json(
        client,
        "/settings/editSmtp",
        {**alice.credentials, "smtp_user_name": alices_smtp_user.smtp_user_name},
    )
    assert response.json() == {"status": "success", "message": "SMTP User Updated"}
    assert snapshot() == before


@pytest.mark.parametrize("status_value", ["enable", "ENABLE", "Enable"])
def test_it_accepts_status_in_any_case_and_answers_canonically(
    client, alice, alices_smtp_user, status_value
):
    alices_smtp_user.is_enabled = False
    alices_smtp_user.save()
    post_form(
        client,
        "/settings/editSmtp",
        {
            **alice.credentials,
            "smtp_user_name": alices_smtp_user.smtp_user_name,
            "status": status_value,
        },
    )
    listing = post_json(client, "/settings/listSmtp", alice.credentials).json()
    assert listing["smtp_list"][0]["status"] == "Enable"


# --- resetSmtpPassword ---------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
def test_it_resets_the_password(client, alice, alices_smtp_user, prefix):
    old_password = smtp_password_of(alices_smtp_user)
    response = post_json(
        client,
        prefix + "resetSmtpPassword",
        {**alice.credentials, "smtp_user_name": alices_smtp_user.smtp_user_name},
    )
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"status", "message", "smtp_user_name", "smtp_password"}
    assert body["status"] == "success"
    assert body["message"] == "password reseted"
    assert body["smtp_user_name"] == alices_smtp_user.smtp_user_name
    assert body["smtp_password"] != old_password
    alices_smtp_user.refresh_from_db()
    assert smtp_password_of(alices_smtp_user) == body["smtp_password"]


# --- listSmtp ------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
def test_it_lists_the_owners_smtp_users_oldest_first(client, alice, bob, prefix):
    first, first_password = create_smtp_user(alice.owner, total_limit=1000, hourly_limit=600)
    second, _ = create_smtp_user(alice.owner, total_limit=100, hourly_limit=30)
    second.is_enabled = False
    second.save()
    create_smtp_user(bob.owner, total_limit=7, hourly_limit=7)

    response = post_json(client, prefix + "listSmtp", alice.credentials)

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "success"
    names = [item["smtp_user_name"] for item in body["smtp_list"]]
    assert names == [first.smtp_user_name, second.smtp_user_name]
    item = body["smtp_list"][0]
    assert item["smtp_password"] == item["password"] == first_password
    assert item["status"] == "Enable"
    assert item["total_limit"] == 1000 and item["hourly_limit"] == 600
    assert isinstance(item["total_limit"], int) and isinstance(item["hourly_limit"], int)
    assert body["smtp_list"][1]["status"] == "Disable"
    assert {"total_used", "hourly_used"} <= set(item)


def test_it_lists_with_the_same_number_of_queries_for_1_and_200_users(client, alice, token_clock):
    # token_clock: the token stays remembered however long creating 200 users takes.
    def queries_for_list():
        with CaptureQueriesContext(connection) as captured:
            response = post_json(client, "/v1.0/settings/listSmtp", alice.credentials)
        assert response.status_code == 200
        return len(captured), len(response.json()["smtp_list"])

    create_smtp_user(alice.owner, total_limit=1, hourly_limit=1)
    queries_for_list()  # the first call also records the token's last use
    one = queries_for_list()
    for _ in range(199):
        create_smtp_user(alice.owner, total_limit=1, hourly_limit=1)
    two_hundred = queries_for_list()
    assert one[1] == 1 and two_hundred[1] == 200
    assert one[0] == two_hundred[0] <= 2


# --- tenant isolation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, extra",
    [
        ("editSmtp", {"total_limit": 1}),
        ("editSmtp", {"status": "Disable"}),
        ("resetSmtpPassword", {}),
    ],
)
def test_it_answers_another_owners_smtp_user_like_a_missing_one(
    client, alice, bob, alices_smtp_user, call, extra
):
    before = snapshot()
    theirs = post_json(
        client,
        f"/settings/{call}",
        {**bob.credentials, "smtp_user_name": alices_smtp_user.smtp_user_name, **extra},
    )
    missing = post_json(
        client, f"/settings/{call}", {**bob.credentials, "smtp_user_name": "smtp00000000", **extra}
    )
    assert_error(theirs, 404, "ValidationError")
    assert_error(missing, 404, "ValidationError")
    assert theirs.json()["message"].replace(alices_smtp_user.smtp_user_name, "X") == (
        missing.json()["message"].replace("smtp00000000", "X")
    )
    assert snapshot() == before


def test_it_never_lists_another_owners_smtp_users(client, alice, bob, alices_smtp_user):
    response = post_json(client, "/settings/listSmtp", bob.credentials)
    assert response.json() == {"status": "success", "smtp_list": []}


# --- authentication ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "credentials",
    [
        {},
        {"owner_id": "nobody"},
        {"token": "spk_nothing"},
        {"owner_id": "nobody", "token": "spk_nothing"},
        {"owner_id": "", "token": ""},
        {"owner_id": ["a"], "token": ["b"]},
    ],
)
def test_it_refuses_missing_or_unknown_credentials(client, alice, credentials):
    response = post_json(
        client, "/settings/addSmtp", {**credentials, "total_limit": 1, "hourly_limit": 1}
    )
    assert_error(response, 401, "AuthenticationError", "Token MissMatch")
    assert SmtpUser.objects.count() == 0


def test_it_refuses_a_token_of_another_owner(client, alice, bob):
    response = post_json(
        client, "/settings/listSmtp", {"owner_id": alice.owner_id, "token": bob.token}
    )
    assert_error(response, 401, "AuthenticationError", "Token MissMatch")


def test_it_refuses_a_revoked_token(client, alice):
    api_token, token = create_api_token(alice.owner, name="second")
    assert (
        post_json(
            client, "/settings/listSmtp", {"owner_id": alice.owner_id, "token": token}
        ).status_code
        == 200
    )
    revoke_api_token(alice.owner, token_id=api_token.pk)
    response = post_json(client, "/settings/listSmtp", {"owner_id": alice.owner_id, "token": token})
    assert_error(response, 401, "AuthenticationError", "Token MissMatch")


def test_it_refuses_an_inactive_owner(client, alice):
    alice.owner.is_active = False
    alice.owner.save()
    assert_error(
        post_json(client, "/settings/listSmtp", alice.credentials), 401, "AuthenticationError"
    )


def test_it_throttles_after_30_failures_from_one_address(client, alice):
    bad = {"owner_id": alice.owner_id, "token": "spk_wrong"}
    for _ in range(30):
        assert_error(post_json(client, "/settings/listSmtp", bad), 401, "AuthenticationError")
    throttled = post_json(client, "/settings/listSmtp", bad)
    assert_error(throttled, 429, "GeneralError")
    # A caller with the right credentials is never throttled.
    assert post_json(client, "/settings/listSmtp", alice.credentials).status_code == 200


def test_it_throttles_per_address_across_owner_ids(client, alice):
    for number in range(30):
        response = post_json(
            client, "/settings/listSmtp", {"owner_id": f"guess-{number}", "token": "x"}
        )
        assert response.status_code == 401
    response = post_json(client, "/settings/listSmtp", {"owner_id": "guess-31", "token": "x"})
    assert_error(response, 429, "GeneralError")


def test_it_counts_failures_per_address_and_ignores_a_spoofed_forwarded_for(client, alice):
    def fail(number, remote_addr):
        return client.post(
            "/settings/listSmtp",
            json.dumps({"owner_id": f"nobody-{remote_addr}-{number}", "token": "x"}),
            content_type="application/json",
            REMOTE_ADDR=remote_addr,
            headers={"X-Forwarded-For": f"10.0.0.{number}"},
        )

    for number in range(30):
        assert fail(number, "192.0.2.1").status_code == 401
    assert_error(fail(99, "192.0.2.1"), 429, "GeneralError")
    assert_error(fail(0, "192.0.2.2"), 401, "AuthenticationError")


# --- envelope for every error --------------------------------------------------------------


@pytest.mark.parametrize("path", ["/settings/nope", "/v1.0/settings/addSmtpX", "/v1.0/whatever"])
def test_it_answers_unknown_paths_with_the_envelope(client, alice, path):
    assert_error(
        post_json(client, path, alice.credentials), 404, "GeneralError", "Unknown API call"
    )


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_it_answers_wrong_methods_with_the_envelope(client, alice, method):
    response = getattr(client, method)("/v1.0/settings/listSmtp")
    assert_error(response, 405, "GeneralError")


def test_it_answers_unexpected_errors_with_a_bare_envelope(client, alice, monkeypatch):
    def explode(owner):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("smtpusers.selectors.smtp_user_rows_oldest_first", explode)
    response = post_json(client, "/settings/listSmtp", alice.credentials)
    body = assert_error(response, 500, "GeneralError", "Internal error")
    assert "secret" not in json.dumps(body)


@pytest.mark.parametrize(
    "raw, content_type",
    [
        ("{bad json", "application/json"),
        ("[1, 2]", "application/json"),
        ('"a string"', "application/json"),
        ("total_limit=5", "text/plain"),
        ('{"total_limit": NaN}', "application/json"),
    ],
)
def test_it_refuses_malformed_bodies(client, alice, raw, content_type):
    response = client.post(
        "/settings/addSmtp", raw, content_type=content_type, headers=alice.headers
    )
    assert_error(response, 400, "ValidationError")
    assert SmtpUser.objects.count() == 0


# --- validation table ----------------------------------------------------------------------

BAD_CREATE_BODIES = [
    ({"total_limit": 0, "hourly_limit": 1}, "total_limit"),
    ({"total_limit": 1, "hourly_limit": 0}, "hourly_limit"),
    ({"total_limit": -5, "hourly_limit": 1}, "total_limit"),
    ({"total_limit": "-5", "hourly_limit": 1}, "total_limit"),
    ({"total_limit": 1.5, "hourly_limit": 1}, "total_limit"),
    ({"total_limit": 500.0, "hourly_limit": 1}, "total_limit"),
    ({"total_limit": "1.5", "hourly_limit": 1}, "total_limit"),
    ({"total_limit": True, "hourly_limit": 1}, "total_limit"),
    ({"total_limit": 1, "hourly_limit": False}, "hourly_limit"),
    ({"total_limit": 2147483648, "hourly_limit": 1}, "total_limit"),
    ({"total_limit": 10**30, "hourly_limit": 1}, "total_limit"),
    ({"total_limit": "9" * 5000, "hourly_limit": 1}, "total_limit"),
    ({"total_limit": "abc", "hourly_limit": 1}, "total_limit"),
    ({"total_limit": "", "hourly_limit": 1}, "total_limit"),
    ({"total_limit": " ", "hourly_limit": 1}, "total_limit"),
    ({"total_limit": [5], "hourly_limit": 1}, "total_limit"),
    ({"total_limit": {"n": 5}, "hourly_limit": 1}, "total_limit"),
    ({"total_limit": "1e3", "hourly_limit": 1}, "total_limit"),
    ({"total_limit": "0x10", "hourly_limit": 1}, "total_limit"),
    ({"total_limit": "\uff15", "hourly_limit": 1}, "total_limit"),
    ({"total_limit": None, "hourly_limit": 1}, "total_limit"),
    ({"hourly_limit": 1}, "total_limit"),
    ({"total_limit": 1}, "hourly_limit"),
    ({}, "total_limit"),
]


@pytest.mark.parametrize("body, field", BAD_CREATE_BODIES)
def test_it_refuses_bad_create_input(client, alice, body, field):
    response = post_json(client, "/v1.0/settings/addSmtp", {**alice.credentials, **body})
    message = assert_error(response, 400, "ValidationError")["message"]
    assert message.startswith(field)
    assert SmtpUser.objects.count() == 0


def test_it_refuses_a_repeated_form_field(client, alice):
    response = post_form(
        client,
        "/settings/addSmtp",
        {**alice.credentials, "total_limit": ["5", "6"], "hourly_limit": "1"},
    )
    assert_error(
        response, 400, "ValidationError", "total_limit must be a positive integer (1 to 2147483647)"
    )
    assert SmtpUser.objects.count() == 0


BAD_EDIT_BODIES = [
    ({"total_limit": 0}, 400, "total_limit"),
    ({"hourly_limit": -1}, 400, "hourly_limit"),
    ({"hourly_limit": "ten"}, 400, "hourly_limit"),
    ({"total_limit": 3.25}, 400, "total_limit"),
    ({"total_limit": ""}, 400, "total_limit"),
    ({"status": "Paused"}, 400, "status"),
    ({"status": ""}, 400, "status"),
    ({"status": True}, 400, "status"),
    ({"status": ["Enable"]}, 400, "status"),
    ({"total_limit": 5, "status": "maybe"}, 400, "status"),
    ({"smtp_user_name": None}, 400, "smtp_user_name"),
    ({"smtp_user_name": ""}, 400, "smtp_user_name"),
    ({"smtp_user_name": 12345}, 400, "smtp_user_name"),
    ({"smtp_user_name": "smtp99999999"}, 404, "SMTP user"),
    ({"smtp_user_name": "smtp\u0000"}, 404, "SMTP user not found"),
    ({"smtp_user_name": "x" * 100_000}, 404, "SMTP user not found"),
]


@pytest.mark.parametrize("body, http_status, starts_with", BAD_EDIT_BODIES)
def test_it_refuses_bad_edit_input(client, alice, alices_smtp_user, body, http_status, starts_with):
    before = snapshot()
    response = post_json(
        client,
        "/settings/editSmtp",
        {**alice.credentials, "smtp_user_name": alices_smtp_user.smtp_user_name, **body},
    )
    message = assert_error(response, http_status, "ValidationError")["message"]
    assert message.startswith(starts_with)
    assert snapshot() == before


@pytest.mark.parametrize("body", [{}, {"smtp_user_name": ""}, {"smtp_user_name": "smtp1"}])
def test_it_refuses_bad_reset_input(client, alice, alices_smtp_user, body):
    before = snapshot()
    response = post_json(client, "/settings/resetSmtpPassword", {**alice.credentials, **body})
    assert response.status_code in (400, 404)
    assert_error(response, response.status_code, "ValidationError")
    assert snapshot() == before


# --- secrets at rest -----------------------------------------------------------------------


def test_it_stores_no_plaintext_password_or_token(client, alice):
    response = post_json(
        client, "/settings/addSmtp", {**alice.credentials, "total_limit": 5, "hourly_limit": 5}
    )
    password = response.json()["smtp_password"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT password_encrypted FROM smtpusers_smtpuser")
        stored_passwords = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT token_hash, prefix FROM accounts_apitoken")
        stored_tokens = cursor.fetchall()
    assert stored_passwords and all(password not in value for value in stored_passwords)
    for token_hash, prefix in stored_tokens:
        assert alice.token not in token_hash
        assert alice.token != prefix and alice.token.startswith(prefix)


def test_it_throttles_failures_against_one_owner_id_from_many_addresses(client, alice):
    def fail_from(address):
        return client.post(
            "/settings/listSmtp",
            json.dumps({"owner_id": alice.owner_id, "token": "spk_guess"}),
            content_type="application/json",
            REMOTE_ADDR=address,
        )

    for number in range(30):
        assert_error(fail_from(f"198.51.100.{number}"), 401, "AuthenticationError")
    assert_error(fail_from("198.51.100.200"), 429, "GeneralError")
    assert post_json(client, "/settings/listSmtp", alice.credentials).status_code == 200


@pytest.fixture
def redis_cache(settings):
    """The production cache: Redis on the local server, under a key prefix of this test."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
            "KEY_PREFIX": f"portal-test-{uuid.uuid4().hex}",
        }
    }
    yield settings.CACHES["default"]
    caches["default"].clear()


def test_it_counts_failures_in_redis_so_every_process_sees_them(client, alice, redis_cache):
    bad = {"owner_id": alice.owner_id, "token": "spk_wrong"}
    for _ in range(30):
        assert_error(post_json(client, "/settings/listSmtp", bad), 401, "AuthenticationError")
    # A new cache handler is what another server process would have: it sees the same count.
    another_process = CacheHandler(settings={"default": redis_cache})["default"]
    assert another_process.get("api-auth-fail:ip:127.0.0.1") == 30
    assert_error(post_json(client, "/settings/listSmtp", bad), 429, "GeneralError")

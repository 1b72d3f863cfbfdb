"""The email settings API contract (docs/api.md §2, seed 004): every method, success and error body,
both path prefixes, both credential styles, and tenant isolation."""

import re

import pytest
from django.db import OperationalError

from accounts.services import revoke_api_token
from relaysettings import selectors
from relaysettings.models import RelaySetting
from testing.email_settings import (
    PREFIXES,
    SEED_DOMAIN,
    call,
    create_setting,
    seed_fields,
    seed_record,
    settings_url,
)

NOT_FOUND = {"status": "error", "info": "Not found!"}
DOMAIN_REQUIRED = {"status": "error", "info": "Bad request (domain required)."}
INVALID_CREDENTIALS = {"status": "error", "info": "Invalid Token or Key"}


def expected_record(public_id: str, record: dict, domain: str = SEED_DOMAIN) -> dict:
    return {"_id": public_id, **record, "domain": domain}


@pytest.mark.parametrize("prefix", PREFIXES)
def test_it_creates_settings_with_post_and_answers_the_seed_shape(client, alice, prefix):
    response = call(
        client,
        "POST",
        settings_url(prefix, domain=SEED_DOMAIN),
        headers=alice.headers,
        body=seed_record(),
    )

    assert response.status_code == 200
    body = response.json()
    assert re.fullmatch(r"[0-9a-f]{24}", body["_id"])
    assert seed_fields(body) == expected_record(body["_id"], seed_record())
    assert list(body)[:6] == ["_id", "provider", "description", "from", "options", "domain"]
    stored = RelaySetting.objects.get()
    assert (stored.owner, stored.domain, stored.public_id) == (
        alice.owner,
        SEED_DOMAIN,
        body["_id"],
    )
    assert (stored.host, stored.port, stored.secure, stored.tls_reject_unauthorized) == (
        "m.webitel.com",
        465,
        True,
        False,
    )


@pytest.mark.parametrize("prefix", PREFIXES)
def test_it_reads_settings_with_get(client, alice, prefix):
    relay_setting = create_setting(alice)

    response = call(client, "GET", settings_url(prefix, domain=SEED_DOMAIN), headers=alice.headers)

    assert response.status_code == 200
    assert seed_fields(response.json()) == expected_record(relay_setting.public_id, seed_record())


def test_it_accepts_credentials_as_query_parameters(client, alice):
    relay_setting = create_setting(alice)
    url = settings_url(domain=SEED_DOMAIN, x_key=alice.owner_id, access_token=alice.token)

    response = call(client, "GET", url)

    assert seed_fields(response.json()) == expected_record(relay_setting.public_id, seed_record())


def test_it_accepts_credentials_as_body_fields(client, alice):
    body = {**seed_record(), "x_key": alice.owner_id, "access_token": alice.token}

    response = call(client, "POST", settings_url(domain=SEED_DOMAIN), body=body)

    assert response.status_code == 200
    assert seed_fields(response.json()) == expected_record(response.json()["_id"], seed_record())
    assert RelaySetting.objects.filter(owner=alice.owner).count() == 1


def test_it_deletes_with_credentials_in_the_query(client, alice):
    create_setting(alice)
    url = settings_url(
        "/engine/api/v2", domain=SEED_DOMAIN, x_key=alice.owner_id, access_token=alice.token
    )

    response = call(client, "DELETE", url)

    assert response.json() == {"status": "OK", "Info": "Removed 1 record."}
    assert not RelaySetting.objects.exists()


def test_it_replaces_the_whole_record_on_a_second_post_and_keeps_the_id(client, alice):
    relay_setting = create_setting(alice)
    replacement = seed_record(description="Second", options__port=587, options__secure=False)
    del replacement["options"]["auth"]

    response = call(
        client, "POST", settings_url(domain=SEED_DOMAIN), headers=alice.headers, body=replacement
    )

    assert seed_fields(response.json()) == expected_record(relay_setting.public_id, replacement)
    assert "auth" not in response.json()["options"]
    stored = RelaySetting.objects.get()
    assert (stored.port, stored.auth_user, stored.auth_password_encrypted) == (587, "", "")


@pytest.mark.parametrize("prefix", PREFIXES)
def test_it_replaces_an_existing_record_with_put(client, alice, prefix):
    relay_setting = create_setting(alice)
    replacement = seed_record(description="My updated setting", options__auth__pass="n3w-pass")

    response = call(
        client,
        "PUT",
        settings_url(prefix, domain=SEED_DOMAIN),
        headers=alice.headers,
        body=replacement,
    )

    assert response.status_code == 200
    assert seed_fields(response.json()) == expected_record(relay_setting.public_id, replacement)
    stored = RelaySetting.objects.get()
    assert stored.description == "My updated setting"
    assert selectors.auth_password_of(stored) == "n3w-pass"


def test_it_answers_404_to_put_without_a_record_and_creates_nothing(client, alice):
    response = call(
        client, "PUT", settings_url(domain=SEED_DOMAIN), headers=alice.headers, body=seed_record()
    )

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert not RelaySetting.objects.exists()


def test_it_answers_404_to_get_without_a_record(client, alice):
    response = call(client, "GET", settings_url(domain=SEED_DOMAIN), headers=alice.headers)

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize("prefix", PREFIXES)
def test_it_deletes_and_counts_removed_records(client, alice, prefix):
    create_setting(alice)
    url = settings_url(prefix, domain=SEED_DOMAIN)

    first = call(client, "DELETE", url, headers=alice.headers)
    second = call(client, "DELETE", url, headers=alice.headers)

    assert (first.status_code, first.json()) == (200, {"status": "OK", "Info": "Removed 1 record."})
    assert (second.status_code, second.json()) == (
        200,
        {"status": "OK", "Info": "Removed 0 record."},
    )
    assert not RelaySetting.objects.exists()


def test_it_answers_a_record_without_auth_without_the_auth_key(client, alice):
    record = seed_record()
    del record["options"]["auth"]

    response = call(
        client, "POST", settings_url(domain=SEED_DOMAIN), headers=alice.headers, body=record
    )

    assert response.json()["options"] == {
        "host": "m.webitel.com",
        "port": 465,
        "secure": True,
        "debug": False,
        "tls": {"rejectUnauthorized": False},
    }


def test_it_fills_defaults_for_left_out_optional_fields(client, alice):
    record = {
        "provider": "smtp",
        "from": "me@example.com",
        "options": {"host": "h.example.com", "port": 25},
    }

    response = call(
        client, "POST", settings_url(domain="example.com"), headers=alice.headers, body=record
    )

    assert seed_fields(response.json()) == expected_record(
        response.json()["_id"],
        {
            "provider": "smtp",
            "description": "",
            "from": "me@example.com",
            "options": {
                "host": "h.example.com",
                "port": 25,
                "secure": False,
                "debug": False,
                "tls": {"rejectUnauthorized": True},
            },
        },
        domain="example.com",
    )


def test_it_takes_a_get_answer_back_as_a_put_body(client, alice):
    create_setting(alice)
    url = settings_url(domain=SEED_DOMAIN)
    answer = call(client, "GET", url, headers=alice.headers).json()

    response = call(client, "PUT", url, headers=alice.headers, body=answer)

    assert response.json() == answer


def test_it_stores_domains_lowercase_and_idna_encoded(client, alice):
    created = call(
        client,
        "POST",
        settings_url(domain="Mail.Bücher.EXAMPLE."),
        headers=alice.headers,
        body=seed_record(),
    )
    read_back = call(
        client, "GET", settings_url(domain="mail.xn--bcher-kva.example"), headers=alice.headers
    )

    assert created.json()["domain"] == "mail.xn--bcher-kva.example"
    assert read_back.json() == created.json()
    assert RelaySetting.objects.get().domain == "mail.xn--bcher-kva.example"


def test_it_normalises_the_from_domain_and_the_host(client, alice):
    record = seed_record(**{"from": "Me@Bücher.Example", "options__host": "SMTP.Example.COM"})

    response = call(
        client, "POST", settings_url(domain=SEED_DOMAIN), headers=alice.headers, body=record
    )

    assert response.json()["from"] == "Me@xn--bcher-kva.example"
    assert response.json()["options"]["host"] == "smtp.example.com"


@pytest.mark.parametrize("host", ["192.0.2.10", "2001:db8::1", "[2001:db8::1]", "localhost"])
def test_it_accepts_ip_addresses_and_single_label_hosts(client, alice, host):
    response = call(
        client,
        "POST",
        settings_url(domain=SEED_DOMAIN),
        headers=alice.headers,
        body=seed_record(options__host=host),
    )

    assert response.status_code == 200
    assert response.json()["options"]["host"] == host.strip("[]")


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
@pytest.mark.parametrize("query", [{}, {"domain": ""}, {"domain": "  "}])
def test_it_requires_a_domain(client, alice, method, query):
    response = call(
        client, method, settings_url(**query), headers=alice.headers, body=seed_record()
    )

    assert response.status_code == 400
    assert response.json() == DOMAIN_REQUIRED
    assert not RelaySetting.objects.exists()


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
@pytest.mark.parametrize(
    "headers_for",
    [
        lambda tenant: {},
        lambda tenant: {"X-Key": tenant.owner_id},
        lambda tenant: {"X-Access-Token": tenant.token},
        lambda tenant: {"X-Key": tenant.owner_id, "X-Access-Token": tenant.token + "x"},
        lambda tenant: {
            "X-Key": "8fd26a17-eb28-4c74-aa6f-a3794f4f466c",
            "X-Access-Token": tenant.token,
        },
    ],
    ids=["none", "key-only", "token-only", "wrong-token", "wrong-key"],
)
def test_it_refuses_missing_or_wrong_credentials(client, alice, method, headers_for):
    create_setting(alice)

    response = call(
        client,
        method,
        settings_url(domain=SEED_DOMAIN),
        headers=headers_for(alice),
        body=seed_record(description="changed"),
    )

    assert response.status_code == 401
    assert response.json() == INVALID_CREDENTIALS
    assert RelaySetting.objects.get().description == "My Setting"


def test_it_refuses_a_revoked_token(client, alice):
    revoke_api_token(alice.owner, token_id=alice.owner.api_tokens.get().pk)

    response = call(client, "GET", settings_url(domain=SEED_DOMAIN), headers=alice.headers)

    assert (response.status_code, response.json()) == (401, INVALID_CREDENTIALS)


def test_it_checks_credentials_before_the_domain_and_the_body(client, db):
    response = call(client, "POST", settings_url(), raw="{not json")

    assert (response.status_code, response.json()) == (401, INVALID_CREDENTIALS)


def test_it_throttles_repeated_failures_in_its_own_envelope(client, alice, settings):
    settings.API_AUTH_FAILURE_LIMIT = 3
    wrong = {"X-Key": alice.owner_id, "X-Access-Token": "spk_wrong"}
    statuses = [
        call(client, "GET", settings_url(domain=SEED_DOMAIN), headers=wrong).status_code
        for _ in range(4)
    ]
    throttled = call(client, "GET", settings_url(domain=SEED_DOMAIN), headers=wrong)
    still_served = call(client, "GET", settings_url(domain=SEED_DOMAIN), headers=alice.headers)

    assert statuses == [401, 401, 401, 429]
    assert throttled.status_code == 429
    assert throttled.json() == {
        "status": "error",
        "info": "Too many failed authentications; try again in a minute",
    }
    assert still_served.json() == NOT_FOUND


@pytest.mark.parametrize("method", ["PATCH", "OPTIONS", "HEAD"])
def test_it_answers_wrong_methods_with_405_in_the_envelope(client, alice, method):
    response = call(client, method, settings_url(domain=SEED_DOMAIN), headers=alice.headers)

    assert response.status_code == 405
    assert response["Allow"] == "GET, POST, PUT, DELETE"
    if method != "HEAD":
        assert response.json() == {"status": "error", "info": f"Method {method} not allowed"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2",
        "/api/v2/",
        "/api/v2/email",
        "/api/v2/email/settingz",
        "/engine/api/v2/unknown/call",
        "/api/v2/email/settings/test",
        "/api/v2/email/settings/extra/path",
    ],
)
def test_it_answers_unknown_paths_with_404_in_the_envelope(client, alice, path):
    response = call(client, "GET", path, headers=alice.headers)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == NOT_FOUND


def test_it_serves_paths_with_and_without_a_trailing_slash_without_redirects(client, alice):
    create_setting(alice)

    plain = call(
        client, "GET", f"/api/v2/email/settings?domain={SEED_DOMAIN}", headers=alice.headers
    )
    slashed = call(
        client, "GET", f"/engine/api/v2/email/settings/?domain={SEED_DOMAIN}", headers=alice.headers
    )

    assert plain.status_code == slashed.status_code == 200
    assert plain.json() == slashed.json()


def test_it_answers_unexpected_errors_with_500_and_no_internals(client, alice, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(selectors, "relay_setting_for", explode)

    response = call(client, "GET", settings_url(domain=SEED_DOMAIN), headers=alice.headers)

    assert response.status_code == 500
    assert response.json() == {"status": "error", "info": "Internal error"}


def test_it_answers_503_while_the_database_is_unavailable(client, alice, monkeypatch):
    def unavailable(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(selectors, "relay_setting_for", unavailable)

    response = call(client, "GET", settings_url(domain=SEED_DOMAIN), headers=alice.headers)

    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "info": "Service temporarily unavailable; try again",
    }


def test_it_shows_another_owners_domain_as_missing(client, alice, bob):
    alices = create_setting(alice)
    url = settings_url(domain=SEED_DOMAIN)

    read = call(client, "GET", url, headers=bob.headers)
    replaced = call(client, "PUT", url, headers=bob.headers, body=seed_record(description="bob"))
    deleted = call(client, "DELETE", url, headers=bob.headers)

    assert (read.status_code, read.json()) == (404, NOT_FOUND)
    assert (replaced.status_code, replaced.json()) == (404, NOT_FOUND)
    assert deleted.json() == {"status": "OK", "Info": "Removed 0 record."}
    stored = RelaySetting.objects.get()
    assert (stored.pk, stored.owner, stored.description) == (alices.pk, alice.owner, "My Setting")


def test_it_keeps_each_owners_record_for_the_same_domain_apart(client, alice, bob):
    url = settings_url(domain=SEED_DOMAIN)
    alices = call(client, "POST", url, headers=alice.headers, body=seed_record())
    bobs = call(
        client,
        "POST",
        url,
        headers=bob.headers,
        body=seed_record(description="Bob's", options__auth__pass="bob-pass"),
    )

    assert alices.json()["_id"] != bobs.json()["_id"]
    assert call(client, "GET", url, headers=alice.headers).json() == alices.json()
    assert call(client, "GET", url, headers=bob.headers).json()["options"]["auth"]["pass"] == (
        "bob-pass"
    )
    assert RelaySetting.objects.filter(domain=SEED_DOMAIN).count() == 2


def test_it_reads_a_record_in_few_queries(client, alice, django_assert_max_num_queries):
    create_setting(alice)

    # Token lookup (+ last-used stamp) and the record.
    with django_assert_max_num_queries(3):
        response = call(client, "GET", settings_url(domain=SEED_DOMAIN), headers=alice.headers)

    assert response.status_code == 200

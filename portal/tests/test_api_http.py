"""The HTTP edge both APIs share: hostile bodies, caching of answers, the HTTPS redirect."""

import json
import logging

import pytest
from django.conf import settings

from testing.email_settings import SEED_DOMAIN, create_setting, seed_record, settings_url
from testing.http import assert_error, hostile_bodies, post_json

SMTP_CALLS = ["addSmtp", "addSmtpUser", "editSmtp", "editSmtpUser", "resetSmtpPassword", "listSmtp"]
SMTP_ENDPOINTS = [
    ("POST", f"{prefix}{call}")
    for prefix in ("/v1.0/settings/", "/settings/")
    for call in SMTP_CALLS
]
EMAIL_ENDPOINTS = [
    *(
        (method, f"{prefix}/email/settings?domain={SEED_DOMAIN}")
        for prefix in ("/api/v2", "/engine/api/v2")
        for method in ("GET", "POST", "PUT", "DELETE")
    ),
    *(
        ("POST", f"{prefix}/email/settings/test/to@example.com?domain={SEED_DOMAIN}")
        for prefix in ("/api/v2", "/engine/api/v2")
    ),
]

HOSTILE_BODIES = hostile_bodies()


def send(client, method, path, body, content_type):
    return client.generic(method, path, data=body, content_type=content_type)


def assert_nothing_logged_as_error(caplog):
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == []


@pytest.mark.parametrize("hostile", HOSTILE_BODIES, ids=lambda hostile: hostile.name)
@pytest.mark.parametrize(("method", "path"), SMTP_ENDPOINTS)
def test_it_refuses_hostile_bodies_on_the_smtp_users_api_in_its_envelope(
    client, db, caplog, method, path, hostile
):
    response = send(client, method, path, hostile.body, hostile.content_type)

    name = "GeneralError" if hostile.status == 413 else "ValidationError"
    assert_error(response, hostile.status, name, hostile.message)
    assert_nothing_logged_as_error(caplog)


@pytest.mark.parametrize("hostile", HOSTILE_BODIES, ids=lambda hostile: hostile.name)
@pytest.mark.parametrize(("method", "path"), EMAIL_ENDPOINTS)
def test_it_refuses_hostile_bodies_on_the_email_settings_api_in_its_envelope(
    client, db, caplog, method, path, hostile
):
    response = send(client, method, path, hostile.body, hostile.content_type)

    assert response.status_code == hostile.status
    if hostile.status == 413:
        assert response.json() == {"status": "error", "info": hostile.message}
    else:
        assert response.json() == {
            "status": "error",
            "info": "Bad parameters.",
            "errors": {"body": hostile.message},
        }
    assert_nothing_logged_as_error(caplog)


def test_it_still_answers_a_body_at_the_size_limit(client, alice):
    padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE - 200)
    body = json.dumps({**alice.credentials, "padding": padding})

    response = send(client, "POST", "/v1.0/settings/listSmtp", body, "application/json")

    assert response.status_code == 200
    assert response.json() == {"status": "success", "smtp_list": []}


# --- Cache-Control -------------------------------------------------------------------------


def test_it_forbids_caching_answers_that_carry_smtp_passwords(client, alice):
    created = post_json(
        client, "/v1.0/settings/addSmtp", {**alice.credentials, "total_limit": 5, "hourly_limit": 1}
    )
    name = created.json()["smtp_user_name"]
    reset = post_json(
        client, "/v1.0/settings/resetSmtpPassword", {**alice.credentials, "smtp_user_name": name}
    )
    listed = post_json(client, "/v1.0/settings/listSmtp", alice.credentials)
    refused = post_json(client, "/v1.0/settings/listSmtp", {"owner_id": "x", "token": "y"})

    assert [response.status_code for response in (created, reset, listed, refused)] == [
        200,
        200,
        200,
        401,
    ]
    assert reset.json()["smtp_password"] and listed.json()["smtp_list"][0]["smtp_password"]
    for response in (created, reset, listed, refused):
        assert response["Cache-Control"] == "no-store"


def test_it_forbids_caching_email_settings_that_carry_the_relay_password(client, alice):
    create_setting(alice)

    response = client.get(settings_url(domain=SEED_DOMAIN), headers=alice.headers)

    assert response.json()["options"]["auth"]["pass"] == seed_record()["options"]["auth"]["pass"]
    assert response["Cache-Control"] == "no-store"


# --- HTTPS redirect --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1.0/settings/addSmtp",
        "/settings/listSmtp",
        "/v1.0/settings/nope",
        f"/api/v2/email/settings?domain={SEED_DOMAIN}",
        f"/engine/api/v2/email/settings/?domain={SEED_DOMAIN}",
        "/api/v2/email/settings/test/to@example.com",
        "/api/v2",
    ],
)
@pytest.mark.parametrize("method", ["POST", "PUT", "GET"])
def test_it_redirects_api_calls_to_https_keeping_method_and_body(
    client, db, settings, method, path
):
    settings.SECURE_SSL_REDIRECT = True

    response = client.generic(method, path, data='{"a": 1}', content_type="application/json")

    assert response.status_code == 308
    assert response["Location"] == f"https://testserver{path}"


def test_it_still_redirects_pages_to_https_with_301(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/accounts/login/")

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/"


def test_it_serves_api_calls_over_https_when_redirecting(client, alice, settings):
    settings.SECURE_SSL_REDIRECT = True

    response = client.post(
        "/v1.0/settings/listSmtp",
        json.dumps(alice.credentials),
        content_type="application/json",
        secure=True,
    )

    assert response.status_code == 200
    assert response.json() == {"status": "success", "smtp_list": []}


# --- One classification ----------------------------------------------------------------------


def test_it_answers_an_unsatisfiable_accept_header_with_406_in_both_envelopes(client, alice):
    # Once a 500 with a traceback in the SMTP users API, which classified only its own errors.
    smtp = client.post("/v1.0/settings/listSmtp", headers={"Accept": "text/html", **alice.headers})
    email = client.get(
        settings_url(domain=SEED_DOMAIN), headers={"Accept": "text/html", **alice.headers}
    )

    message = "Could not satisfy the request Accept header."
    assert_error(smtp, 406, "GeneralError", message)
    assert (email.status_code, email.json()) == (406, {"status": "error", "info": message})

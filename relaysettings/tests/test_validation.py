"""Bad bodies and domains: each a 400 "Bad parameters." naming the field, with nothing stored."""

import json

import pytest

from relaysettings import selectors
from relaysettings.models import RelaySetting
from testing.email_settings import SEED_DOMAIN, call, create_setting, seed_record, settings_url


def without(path: str) -> dict:
    record = seed_record()
    *parents, leaf = path.split("__")
    target = record
    for parent in parents:
        target = target[parent]
    del target[leaf]
    return record


BAD_BODIES = [
    (
        "port-zero",
        seed_record(options__port=0),
        "options.port",
        "port must be an integer from 1 to 65535",
    ),
    (
        "port-too-big",
        seed_record(options__port=70000),
        "options.port",
        "port must be an integer from 1 to 65535",
    ),
    (
        "port-letters",
        seed_record(options__port="abc"),
        "options.port",
        "port must be an integer from 1 to 65535",
    ),
    (
        "port-digit-string",
        seed_record(options__port="465"),
        "options.port",
        "port must be an integer from 1 to 65535",
    ),
    (
        "port-float",
        seed_record(options__port=465.0),
        "options.port",
        "port must be an integer from 1 to 65535",
    ),
    (
        "port-boolean",
        seed_record(options__port=True),
        "options.port",
        "port must be an integer from 1 to 65535",
    ),
    (
        "port-negative",
        seed_record(options__port=-25),
        "options.port",
        "port must be an integer from 1 to 65535",
    ),
    ("port-missing", without("options__port"), "options.port", "port is required"),
    (
        "from-not-an-address",
        seed_record(**{"from": "not-an-address"}),
        "from",
        "from must be an email address",
    ),
    (
        "from-display-name",
        seed_record(**{"from": "Me <me@example.com>"}),
        "from",
        "from must be an email address",
    ),
    (
        "from-header-injection",
        seed_record(**{"from": "me@example.com\r\nBcc: x@y.com"}),
        "from",
        "from must be an email address",
    ),
    ("from-number", seed_record(**{"from": 12}), "from", "from must be an email address"),
    ("from-missing", without("from"), "from", "from is required"),
    (
        "from-huge",
        seed_record(**{"from": "a" * 300 + "@example.com"}),
        "from",
        "from must be an email address",
    ),
    ("options-missing", without("options"), "options", "options is required"),
    (
        "options-string",
        seed_record(options="smtp://m.webitel.com"),
        "options",
        "options must be an object",
    ),
    ("host-missing", without("options__host"), "options.host", "host is required"),
    (
        "host-bad-characters",
        seed_record(options__host="bad host!"),
        "options.host",
        "host must be a host name or an IP address",
    ),
    (
        "host-underscore",
        seed_record(options__host="smtp_relay.example.com"),
        "options.host",
        "host must be a host name or an IP address",
    ),
    (
        "host-huge",
        seed_record(options__host="a" * 100_000),
        "options.host",
        "host must be a host name or an IP address",
    ),
    (
        "host-bad-ip",
        seed_record(options__host="300.1.1.1"),
        "options.host",
        "host must be a host name or an IP address",
    ),
    (
        "host-number",
        seed_record(options__host=12),
        "options.host",
        "host must be a host name or an IP address",
    ),
    ("provider-other", seed_record(provider="sendgrid"), "provider", 'provider must be "smtp"'),
    ("provider-missing", without("provider"), "provider", 'provider is required ("smtp")'),
    (
        "secure-string",
        seed_record(options__secure="true"),
        "options.secure",
        "secure must be true or false",
    ),
    ("debug-number", seed_record(options__debug=1), "options.debug", "debug must be true or false"),
    (
        "reject-unauthorized-string",
        seed_record(options__tls__rejectUnauthorized="false"),
        "options.tls.rejectUnauthorized",
        "rejectUnauthorized must be true or false",
    ),
    ("tls-string", seed_record(options__tls="yes"), "options.tls", "tls must be an object"),
    (
        "auth-string",
        seed_record(options__auth="user:pass"),
        "options.auth",
        "auth must be an object",
    ),
    ("auth-without-pass", without("options__auth__pass"), "options.auth.pass", "pass is required"),
    (
        "auth-empty-pass",
        seed_record(options__auth__pass=""),
        "options.auth.pass",
        "pass is required",
    ),
    ("auth-without-user", without("options__auth__user"), "options.auth.user", "user is required"),
    (
        "auth-user-number",
        seed_record(options__auth__user=7),
        "options.auth.user",
        "user must be a string",
    ),
    (
        "auth-pass-huge",
        seed_record(options__auth__pass="p" * 5000),
        "options.auth.pass",
        "pass must be at most 1024 characters",
    ),
    (
        "description-huge",
        seed_record(description="d" * 100_000),
        "description",
        "description must be at most 500 characters",
    ),
    (
        "description-number",
        seed_record(description=5),
        "description",
        "description must be a string",
    ),
    (
        "description-nul",
        seed_record(description="a\u0000b"),
        "description",
        "description must be text without NUL or invalid characters",
    ),
    (
        "description-lone-surrogate",
        seed_record(description="\udbe2"),
        "description",
        "description must be text without NUL or invalid characters",
    ),
    (
        "auth-pass-nul",
        seed_record(options__auth__pass="pa\u0000ss"),
        "options.auth.pass",
        "pass must be text without NUL or invalid characters",
    ),
    (
        "from-nul",
        seed_record(**{"from": "a\u0000@example.com"}),
        "from",
        "from must be an email address",
    ),
    ("array-body", [seed_record()], "body", "The request body must be a JSON object"),
    ("string-body", "smtp", "body", "The request body must be a JSON object"),
    ("null-body", None, "body", "The request body must be a JSON object"),
]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [case[1:] for case in BAD_BODIES],
    ids=[case[0] for case in BAD_BODIES],
)
def test_it_refuses_a_bad_body_and_stores_nothing(client, alice, body, field, message):
    response = call(
        client,
        "POST",
        settings_url(domain=SEED_DOMAIN),
        headers=alice.headers,
        raw=json.dumps(body),
    )

    assert response.status_code == 400
    assert response.json() == {
        "status": "error",
        "info": "Bad parameters.",
        "errors": {field: message},
    }
    assert not RelaySetting.objects.exists()


NOT_JSON_OBJECT = "The request body must be a JSON object (Content-Type: application/json)"


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        ("{not json", "application/json"),
        ('{"provider": "smtp",', "application/json"),
        (json.dumps({"provider": "smtp"}), "text/plain"),
        ("provider=smtp&from=me%40example.com", "application/x-www-form-urlencoded"),
    ],
    ids=["malformed-json", "truncated-json", "text-plain", "form-encoded"],
)
def test_it_refuses_a_body_that_is_not_json(client, alice, raw, content_type):
    response = call(
        client,
        "POST",
        settings_url(domain=SEED_DOMAIN),
        headers=alice.headers,
        raw=raw,
        content_type=content_type,
    )

    assert response.status_code == 400
    assert response.json() == {
        "status": "error",
        "info": "Bad parameters.",
        "errors": {"body": NOT_JSON_OBJECT},
    }
    assert not RelaySetting.objects.exists()


BAD_DOMAINS = [
    ("underscore", "bad_domain.com"),
    ("leading-hyphen", "-lead.example.com"),
    ("trailing-hyphen", "trail-.example.com"),
    ("single-label", "localhost"),
    ("long-label", "a" * 64 + ".com"),
    ("too-long", ".".join(["a" * 60] * 5)),
    ("ip-address", "192.0.2.1"),
    ("space", "exa mple.com"),
    ("empty-label", "a..example.com"),
    ("huge", "a" * 100_000 + ".com"),
    ("url", "https://example.com/"),
    ("email", "me@example.com"),
]


@pytest.mark.parametrize(
    "domain", [case[1] for case in BAD_DOMAINS], ids=[case[0] for case in BAD_DOMAINS]
)
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_it_refuses_a_bad_domain(client, alice, method, domain):
    response = call(
        client, method, settings_url(domain=domain), headers=alice.headers, body=seed_record()
    )

    assert response.status_code == 400
    assert response.json() == {
        "status": "error",
        "info": "Bad parameters.",
        "errors": {"domain": "domain must be a domain name such as mail.example.com"},
    }
    assert not RelaySetting.objects.exists()


def test_it_lists_every_bad_field_at_once(client, alice):
    body = seed_record(provider="x", options__port=0, options__secure="no")

    response = call(
        client, "POST", settings_url(domain="bad_domain"), headers=alice.headers, body=body
    )

    assert response.json()["errors"] == {
        "domain": "domain must be a domain name such as mail.example.com",
        "provider": 'provider must be "smtp"',
        "options.port": "port must be an integer from 1 to 65535",
        "options.secure": "secure must be true or false",
    }


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_it_leaves_the_stored_record_untouched_by_a_bad_replacement(client, alice, method):
    create_setting(alice)

    response = call(
        client,
        method,
        settings_url(domain=SEED_DOMAIN),
        headers=alice.headers,
        body=seed_record(description="changed", options__port=0),
    )

    assert response.status_code == 400
    stored = RelaySetting.objects.get()
    assert (stored.description, stored.port) == ("My Setting", 465)
    assert selectors.auth_password_of(stored) == "itte574dsts485"


def test_it_treats_null_optional_fields_as_left_out(client, alice):
    body = seed_record(description=None, options__tls=None, options__auth=None, options__debug=None)

    response = call(
        client, "POST", settings_url(domain=SEED_DOMAIN), headers=alice.headers, body=body
    )

    assert response.status_code == 200
    assert response.json()["description"] == ""
    assert response.json()["options"] == {
        "host": "m.webitel.com",
        "port": 465,
        "secure": True,
        "debug": False,
        "tls": {"rejectUnauthorized": True},
    }


def test_it_ignores_fields_it_does_not_know(client, alice):
    body = {**seed_record(), "_id": "0" * 24, "domain": "other.example.com", "colour": "red"}
    body["options"]["pool"] = True

    response = call(
        client, "POST", settings_url(domain=SEED_DOMAIN), headers=alice.headers, body=body
    )

    assert response.status_code == 200
    assert response.json()["_id"] != "0" * 24
    assert response.json()["domain"] == SEED_DOMAIN
    assert "colour" not in response.json() and "pool" not in response.json()["options"]

"""The client's email settings calls (`client.email_settings`), the CLI's `email-settings` and
the README's email settings examples, against a live portal (docs/api.md section 2).

The stub-server tests pin what the client sends; the live tests need the portal's email
settings API.
"""

import json
import re
import socket
from dataclasses import dataclass, field

import pytest
import smtprelay
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from readme_examples import examples_in_readme, is_email_settings_section
from stub_http import Answer

from relaysettings.selectors import relay_settings_for
from testing.email_settings import seed_fields

OWNER_ID = "owner-abc"
TOKEN = "secret-token-123"
RECORD = {
    "_id": "574d241a821e7655f78a40f4",
    "provider": "smtp",
    "description": "My Setting",
    "from": "my@example.com",
    "options": {
        "host": "m.example.com",
        "port": 465,
        "secure": True,
        "debug": False,
        "tls": {"rejectUnauthorized": False},
        "auth": {"user": "my@example.com", "pass": "itte574dsts485"},
    },
    "domain": "my.example.com",
}
NOT_FOUND = Answer(404, {"status": "error", "info": "Not found!"})
UNAVAILABLE = Answer(503, {"status": "error", "info": "Service temporarily unavailable"})


def stub_client(stub, **options) -> smtprelay.Client:
    return smtprelay.Client(OWNER_ID, TOKEN, base_url=stub.url, backoff=0, **options)


# --- A local SMTP server for the test sends --------------------------------------------------


@dataclass
class SmtpSink:
    """Accepts any login and any recipient except refused@...; keeps what it received."""

    port: int = 0
    logins: list = field(default_factory=list)
    messages: list = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused@"):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 Message accepted"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_sink():
    sink = SmtpSink(port=free_port())
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=sink.port,
        authenticator=sink.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield sink
    controller.stop()


def sink_settings(sink: SmtpSink, **changes) -> dict:
    return {
        "from_address": "noreply@example.com",
        "host": "127.0.0.1",
        "port": sink.port,
        "reject_unauthorized": False,
        "auth_user": "relay-login",
        "auth_pass": "relay-password",
        **changes,
    }


# --- What the client sends (stub server) ------------------------------------------------------


def test_it_gets_with_the_credentials_as_headers_and_the_domain_as_query(stub_server):
    stub = stub_server(Answer(200, RECORD))

    result = stub_client(stub).email_settings.get("my.example.com")

    assert result == RECORD
    [request] = stub.requests
    assert (request.method, request.path, request.body) == (
        "GET",
        "/api/v2/email/settings?domain=my.example.com",
        b"",
    )
    assert (request.headers["X-Key"], request.headers["X-Access-Token"]) == (OWNER_ID, TOKEN)


def test_it_creates_from_keyword_arguments_as_the_apis_nested_record(stub_server):
    stub = stub_server(Answer(200, RECORD))

    stub_client(stub).email_settings.create(
        "my.example.com",
        from_address="my@example.com",
        host="m.example.com",
        port=465,
        secure=True,
        reject_unauthorized=False,
        auth_user="my@example.com",
        auth_pass="itte574dsts485",
        description="My Setting",
    )

    [request] = stub.requests
    assert (request.method, request.path) == (
        "POST",
        "/api/v2/email/settings?domain=my.example.com",
    )
    assert request.json == {
        key: value for key, value in RECORD.items() if key not in ("_id", "domain")
    }


def test_it_updates_from_a_record_get_answered_without_its_id_and_domain(stub_server):
    stub = stub_server(Answer(200, RECORD))
    changed = {**RECORD, "description": "Changed"}

    stub_client(stub).email_settings.update("my.example.com", changed)

    [request] = stub.requests
    assert request.method == "PUT"
    assert "_id" not in request.json and "domain" not in request.json
    assert request.json["description"] == "Changed"
    assert "owner_id" not in request.json and "token" not in request.json


def test_it_builds_a_record_without_auth_for_an_unauthenticated_relay(stub_server):
    stub = stub_server(Answer(200, RECORD))

    stub_client(stub).email_settings.create(
        "d.example", from_address="a@d.example", host="h", port=25
    )

    assert stub.requests[0].json == {
        "provider": "smtp",
        "description": "",
        "from": "a@d.example",
        "options": {
            "host": "h",
            "port": 25,
            "secure": False,
            "debug": False,
            "tls": {"rejectUnauthorized": True},
        },
    }


def test_it_refuses_half_an_auth_or_a_record_with_keyword_arguments():
    client = smtprelay.Client(OWNER_ID, TOKEN, base_url="http://127.0.0.1:1")

    with pytest.raises(ValueError, match="auth_user and auth_pass go together"):
        smtprelay.smtp_settings(from_address="a@b.c", host="h", port=25, auth_user="u")
    with pytest.raises(TypeError, match="not both"):
        client.email_settings.create("d.example", RECORD, host="h")


def test_it_deletes_and_sends_a_test_to_a_quoted_address(stub_server):
    stub = stub_server(
        Answer(200, {"status": "OK", "Info": "Removed 1 record."}), Answer(200, {"status": "OK"})
    )
    client = stub_client(stub)

    deleted = client.email_settings.delete("my.example.com")
    tested = client.email_settings.send_test("my.example.com", "me+test@example.org")

    assert (deleted, tested) == ({"status": "OK", "Info": "Removed 1 record."}, {"status": "OK"})
    assert [(request.method, request.path) for request in stub.requests] == [
        ("DELETE", "/api/v2/email/settings?domain=my.example.com"),
        ("POST", "/api/v2/email/settings/test/me%2Btest@example.org?domain=my.example.com"),
    ]


def test_it_retries_get_but_not_create(stub_server):
    get_stub = stub_server(UNAVAILABLE, UNAVAILABLE, Answer(200, RECORD))
    create_stub = stub_server(UNAVAILABLE, Answer(200, RECORD))

    got = stub_client(get_stub).email_settings.get("my.example.com")
    with pytest.raises(smtprelay.GeneralError) as caught:
        stub_client(create_stub).email_settings.create("my.example.com", RECORD)

    assert got == RECORD
    assert len(get_stub.requests) == 3
    assert (caught.value.status_code, len(create_stub.requests)) == (503, 1)


def test_it_maps_the_email_settings_errors_by_status(stub_server):
    stub = stub_server(
        Answer(
            400,
            {
                "status": "error",
                "info": "Bad parameters.",
                "errors": {"options": {"port": ["Must be 1 to 65535."]}, "from": "Not an address."},
            },
        ),
        Answer(401, {"status": "error", "info": "Invalid Token or Key"}),
        NOT_FOUND,
    )
    client = stub_client(stub, max_retries=0)

    with pytest.raises(smtprelay.ValidationError) as bad:
        client.email_settings.create("d.example", RECORD)
    with pytest.raises(smtprelay.AuthenticationError) as unauthorized:
        client.email_settings.delete("d.example")
    with pytest.raises(smtprelay.NotFoundError) as missing:
        client.email_settings.get("d.example")

    assert str(bad.value) == (
        "Bad parameters. options.port: Must be 1 to 65535.; from: Not an address. (HTTP 400)"
    )
    assert bad.value.errors == {
        "options": {"port": ["Must be 1 to 65535."]},
        "from": "Not an address.",
    }
    assert repr(unauthorized.value) == (
        "AuthenticationError(name='AuthenticationError', code=None, status_code=401, "
        "message='Invalid Token or Key')"
    )
    assert (missing.value.name, str(missing.value)) == ("NotFoundError", "Not found! (HTTP 404)")
    assert isinstance(missing.value, smtprelay.ValidationError)


# --- Against the portal -----------------------------------------------------------------------


def test_it_creates_and_reads_back_the_record(alice_client, smtp_sink):
    created = alice_client.email_settings.create(
        "My.Example.COM", **sink_settings(smtp_sink, description="Mine", secure=False)
    )

    assert re.fullmatch(r"[0-9a-f]{24}", created["_id"])
    assert seed_fields(created) == {
        "_id": created["_id"],
        "provider": "smtp",
        "description": "Mine",
        "from": "noreply@example.com",
        "options": {
            "host": "127.0.0.1",
            "port": smtp_sink.port,
            "secure": False,
            "debug": False,
            "tls": {"rejectUnauthorized": False},
            "auth": {"user": "relay-login", "pass": "relay-password"},
        },
        "domain": "my.example.com",
    }
    assert alice_client.email_settings.get("my.example.com") == created


def test_it_replaces_the_whole_record_on_create_and_update_keeping_the_id(alice_client, smtp_sink):
    first = alice_client.email_settings.create("example.com", **sink_settings(smtp_sink))

    replaced = alice_client.email_settings.create(
        "example.com", from_address="other@example.com", host="127.0.0.1", port=2525
    )
    updated = alice_client.email_settings.update(
        "example.com", {**replaced, "description": "Updated"}
    )

    assert replaced["_id"] == updated["_id"] == first["_id"]
    assert "auth" not in replaced["options"]
    assert (updated["description"], updated["from"], updated["options"]["port"]) == (
        "Updated",
        "other@example.com",
        2525,
    )
    assert alice_client.email_settings.get("example.com") == updated


def test_it_raises_not_found_for_a_domain_without_settings(alice_client):
    with pytest.raises(smtprelay.NotFoundError) as get:
        alice_client.email_settings.get("nothing.example")
    with pytest.raises(smtprelay.NotFoundError) as update:
        alice_client.email_settings.update(
            "nothing.example", from_address="a@nothing.example", host="h.example", port=25
        )

    for caught in (get, update):
        assert (caught.value.message, caught.value.status_code) == ("Not found!", 404)


def test_it_deletes_once_then_removes_nothing(alice_client, smtp_sink):
    alice_client.email_settings.create("example.com", **sink_settings(smtp_sink))

    first = alice_client.email_settings.delete("example.com")
    second = alice_client.email_settings.delete("example.com")

    assert first == {"status": "OK", "Info": "Removed 1 record."}
    assert second == {"status": "OK", "Info": "Removed 0 record."}
    with pytest.raises(smtprelay.NotFoundError):
        alice_client.email_settings.get("example.com")


def test_it_keeps_each_owners_settings_apart(alice_client, bob_client, smtp_sink):
    alice_record = alice_client.email_settings.create("example.com", **sink_settings(smtp_sink))

    with pytest.raises(smtprelay.NotFoundError):
        bob_client.email_settings.get("example.com")
    removed = bob_client.email_settings.delete("example.com")

    assert removed == {"status": "OK", "Info": "Removed 0 record."}
    assert alice_client.email_settings.get("example.com") == alice_record


def test_it_raises_authentication_error_for_a_wrong_token(alice, portal_client):
    client = portal_client(alice.owner_id, "wrong")

    with pytest.raises(smtprelay.AuthenticationError) as caught:
        client.email_settings.get("example.com")

    assert (caught.value.message, caught.value.status_code) == ("Invalid Token or Key", 401)
    assert alice.owner_id not in str(caught.value)


def test_it_raises_validation_error_for_bad_parameters_or_no_domain(alice_client):
    with pytest.raises(smtprelay.ValidationError) as bad_port:
        alice_client.email_settings.create(
            "example.com", from_address="a@example.com", host="h.example", port=70000
        )
    with pytest.raises(smtprelay.ValidationError) as no_domain:
        alice_client.email_settings.get("")

    assert (bad_port.value.message, bad_port.value.status_code) == ("Bad parameters.", 400)
    assert bad_port.value.errors
    assert (no_domain.value.message, no_domain.value.status_code) == (
        "Bad request (domain required).",
        400,
    )


def test_it_verifies_a_domain_once_its_records_are_published(alice_client, alice, dns_zone):
    created = alice_client.email_settings.create(
        "example.com", from_address="noreply@example.com", host="smtp.example.com", port=587
    )

    before = alice_client.email_settings.verify("example.com")
    relay_setting = relay_settings_for(alice.owner).get(domain="example.com")
    dns_zone.publish_verification(relay_setting)
    after = alice_client.email_settings.verify("example.com")

    assert created["verification"]["status"] == "pending"
    assert before["verification"]["status"] == "failed"
    assert before["verification"]["detail"]
    assert after["verification"]["status"] == "verified"
    assert after["_id"] == created["_id"]


def test_it_sends_a_test_message_through_the_settings(alice_client, smtp_sink):
    alice_client.email_settings.create("example.com", **sink_settings(smtp_sink))

    result = alice_client.email_settings.send_test("example.com", "me@example.org")

    assert result == {"status": "OK"}
    [message] = smtp_sink.messages
    assert (message.mail_from, message.rcpt_tos) == ("noreply@example.com", ["me@example.org"])
    assert smtp_sink.logins == [("relay-login", "relay-password")]


def test_it_raises_validation_error_with_the_smtp_servers_refusal(alice_client, smtp_sink):
    alice_client.email_settings.create("example.com", **sink_settings(smtp_sink))

    with pytest.raises(smtprelay.ValidationError) as caught:
        alice_client.email_settings.send_test("example.com", "refused@example.org")

    assert caught.value.status_code == 400
    assert "550 5.1.1 No such mailbox here" in caught.value.message
    assert smtp_sink.messages == []


# --- The command-line tool --------------------------------------------------------------------


def test_it_sets_shows_tests_and_deletes_from_the_command_line(run_cli, smtp_sink):
    set_result = run_cli(
        "email-settings", "set", "example.com", "--from", "noreply@example.com",
        "--host", "127.0.0.1", "--port", str(smtp_sink.port), "--no-reject-unauthorized",
        "--auth-user", "relay-login", "--auth-pass", "relay-password", "--description", "CLI",
    )  # fmt: skip
    shown = run_cli("email-settings", "get", "example.com")
    shown_json = run_cli("email-settings", "get", "example.com", "--json")
    tested = run_cli("email-settings", "test", "example.com", "me@example.org")
    deleted = run_cli("email-settings", "delete", "example.com")
    missing = run_cli("email-settings", "get", "example.com")

    assert (set_result.exit_code, set_result.stdout) == (0, shown.stdout)
    record = json.loads(shown_json.stdout)
    assert shown.stdout.splitlines() == [
        "domain               example.com",
        f"id                   {record['_id']}",
        "description          CLI",
        "from                 noreply@example.com",
        "host                 127.0.0.1",
        f"port                 {smtp_sink.port}",
        "secure               no",
        "reject unauthorized  no",
        "auth user            relay-login",
        "auth pass            (hidden; --json shows it)",
    ]
    assert "relay-password" not in shown.stdout
    assert record["options"]["auth"] == {"user": "relay-login", "pass": "relay-password"}
    assert (
        tested.stdout
        == "Test message sent to me@example.org through the settings of example.com.\n"
    )
    assert [message.rcpt_tos for message in smtp_sink.messages] == [["me@example.org"]]
    assert deleted.stdout == "Removed 1 record.\n"
    assert (missing.exit_code, missing.stderr) == (
        1,
        "smtprelay: NotFoundError: Not found! (HTTP 404)\n",
    )


def test_it_sets_from_a_json_record_on_standard_input(alice_client, run_cli):
    record = {key: value for key, value in RECORD.items() if key not in ("_id", "domain")}

    result = run_cli(
        "email-settings", "set", "my.example.com", "--json-file", "-", "--json",
        stdin=json.dumps(record),
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    answered = json.loads(result.stdout)
    assert {key: answered[key] for key in record} == record
    assert alice_client.email_settings.get("my.example.com") == answered


def test_it_exits_1_when_the_test_send_is_refused(run_cli, smtp_sink, alice_client):
    alice_client.email_settings.create("example.com", **sink_settings(smtp_sink))

    result = run_cli("email-settings", "test", "example.com", "refused@example.org")

    assert result.exit_code == 1
    assert result.stderr.startswith("smtprelay: ValidationError: ")
    assert "550 5.1.1 No such mailbox here" in result.stderr


# --- The README's email settings examples -----------------------------------------------------


def test_it_runs_the_readme_email_settings_examples(readme_runner, smtp_sink):
    examples = [
        example for example in examples_in_readme() if is_email_settings_section(example.section)
    ]
    # The examples name a provider's server; the test sends through the local sink instead.
    runner = readme_runner({"smtp.example.com": "127.0.0.1", "587": str(smtp_sink.port)})

    runner.run(examples)

    assert {example.language for example in examples} == {"python", "console"}
    assert [message.rcpt_tos for message in smtp_sink.messages] == [
        ["me@example.org"],
        ["me@example.org"],
    ]

"""Sending a test message through stored settings, against real aiosmtpd servers on 127.0.0.1."""

import socket
import ssl
from dataclasses import dataclass, field

import pytest

from relaysettings import services
from testing.email_settings import (
    PREFIXES,
    SEED_DOMAIN,
    call,
    create_setting,
    send_test_url,
    smtp_settings_for,
)
from testing.rebinding import PUBLIC_ADDRESS
from testing.smtp import CatchingHandler, TlsCertificate, generate_self_signed_certificate

RECIPIENT = "rcpt@example.net"


def store_settings(tenant, server, **options):
    relay_setting, _ = services.save_relay_setting(
        tenant.owner, domain=SEED_DOMAIN, data=smtp_settings_for(server, **options)
    )
    return relay_setting


def send_test(client, tenant, to=RECIPIENT, prefix="/api/v2", domain=SEED_DOMAIN):
    return call(client, "POST", send_test_url(to, prefix, domain=domain), headers=tenant.headers)


def error_body(info: str) -> dict:
    return {"status": "error", "info": info}


@pytest.mark.parametrize("prefix", PREFIXES)
def test_it_sends_a_proper_test_message(client, alice, smtp_server, prefix):
    server = smtp_server()
    store_settings(alice, server)

    response = send_test(client, alice, prefix=prefix)

    assert (response.status_code, response.json()) == (200, {"status": "OK"})
    [received] = server.messages
    assert (received.mail_from, received.recipients) == ("sender@example.com", [RECIPIENT])
    message = received.message
    assert message["From"] == "sender@example.com"
    assert message["To"] == RECIPIENT
    assert message["Subject"] == f"Test email from the SMTP relay portal ({SEED_DOMAIN})"
    assert message["Date"].datetime.tzinfo is not None
    assert message["Message-ID"].endswith(f"@{SEED_DOMAIN}>")
    assert "This is a test message from the SMTP relay portal." in message.get_content()
    assert (received.login, received.encrypted) == (None, False)


def test_it_authenticates_with_the_stored_login(client, alice, smtp_server):
    server = smtp_server(users={"relay-user": "relay-pass"})
    store_settings(alice, server, auth=("relay-user", "relay-pass"))

    response = send_test(client, alice)

    assert response.json() == {"status": "OK"}
    assert [received.login for received in server.messages] == ["relay-user"]


def test_it_reports_a_wrong_password_verbatim(client, alice, smtp_server):
    server = smtp_server(users={"relay-user": "relay-pass"})
    store_settings(alice, server, auth=("relay-user", "wrong-pass"))

    response = send_test(client, alice)

    assert response.status_code == 400
    assert response.json() == error_body("535 5.7.8 Authentication credentials invalid")
    assert server.messages == []


def test_it_uses_starttls_on_a_self_signed_certificate_when_told_not_to_verify(
    client, alice, smtp_server, tls_certificate
):
    # AUTH is only offered after STARTTLS here, as on real submission servers.
    server = smtp_server(
        users={"relay-user": "relay-pass"}, starttls=tls_certificate, require_starttls=True
    )
    store_settings(alice, server, reject_unauthorized=False, auth=("relay-user", "relay-pass"))

    response = send_test(client, alice)

    assert response.json() == {"status": "OK"}
    [received] = server.messages
    assert (received.encrypted, received.login) == (True, "relay-user")


def test_it_refuses_a_self_signed_certificate_when_told_to_verify(
    client, alice, smtp_server, tls_certificate
):
    server = smtp_server(starttls=tls_certificate)
    store_settings(alice, server, reject_unauthorized=True)

    response = send_test(client, alice)

    assert response.status_code == 400
    assert response.json() == error_body(
        "TLS certificate of 127.0.0.1 not trusted: self-signed certificate"
    )
    assert server.messages == []


def test_it_speaks_implicit_tls_when_secure(client, alice, smtp_server, tls_certificate):
    server = smtp_server(users={"relay-user": "relay-pass"}, implicit_tls=tls_certificate)
    store_settings(alice, server, secure=True, auth=("relay-user", "relay-pass"))

    response = send_test(client, alice)

    assert response.json() == {"status": "OK"}
    [received] = server.messages
    assert (received.encrypted, received.login) == (True, "relay-user")


def test_it_fails_cleanly_on_secure_against_a_plain_server(client, alice, smtp_server):
    server = smtp_server()
    store_settings(alice, server, secure=True)

    response = send_test(client, alice)

    assert response.status_code == 400
    assert response.json()["info"].startswith("TLS error with 127.0.0.1: ")
    assert server.messages == []


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_it_reports_a_closed_port_cleanly(client, alice, smtp_server):
    server = smtp_server()
    relay_setting = store_settings(alice, server)
    relay_setting.port = closed_port()
    relay_setting.save(update_fields=["port"])

    response = send_test(client, alice)

    assert response.status_code == 400
    assert response.json() == error_body(
        f"Cannot connect to 127.0.0.1:{relay_setting.port}: Connection refused"
    )


def test_it_reports_the_upstreams_refusal_of_the_message_verbatim(client, alice, smtp_server):
    server = smtp_server(handler=CatchingHandler(data_reply="554 5.7.1 Message rejected as spam"))
    store_settings(alice, server)

    response = send_test(client, alice)

    assert response.status_code == 400
    assert response.json() == error_body("554 5.7.1 Message rejected as spam")


@pytest.mark.parametrize("to", ["not-an-address", "a@b@c", "me@bad_domain.com"])
def test_it_refuses_a_bad_recipient(client, alice, smtp_server, to):
    server = smtp_server()
    store_settings(alice, server)

    response = send_test(client, alice, to=to)

    assert response.status_code == 400
    assert response.json() == {
        "status": "error",
        "info": "Bad parameters.",
        "errors": {"to": "to must be an email address"},
    }
    assert server.messages == []


def test_it_answers_404_without_settings_and_for_another_owners_domain(
    client, alice, bob, smtp_server
):
    server = smtp_server()
    store_settings(alice, server)

    missing = send_test(client, alice, domain="other.example.com")
    bobs = send_test(client, bob)

    assert (missing.status_code, missing.json()) == (404, error_body("Not found!"))
    assert (bobs.status_code, bobs.json()) == (404, error_body("Not found!"))
    assert server.messages == []


def test_it_requires_credentials_a_domain_and_post(client, alice, smtp_server):
    server = smtp_server()
    store_settings(alice, server)

    anonymous = call(client, "POST", send_test_url(RECIPIENT, domain=SEED_DOMAIN))
    no_domain = call(client, "POST", send_test_url(RECIPIENT), headers=alice.headers)
    wrong_method = call(
        client, "GET", send_test_url(RECIPIENT, domain=SEED_DOMAIN), headers=alice.headers
    )

    assert (anonymous.status_code, anonymous.json()) == (401, error_body("Invalid Token or Key"))
    assert (no_domain.status_code, no_domain.json()) == (
        400,
        error_body("Bad request (domain required)."),
    )
    assert (wrong_method.status_code, wrong_method.json()) == (
        405,
        error_body("Method GET not allowed"),
    )
    assert server.messages == []


def test_it_refuses_an_upstream_on_a_private_address_in_production(client, alice, settings):
    settings.RELAY_ALLOW_PRIVATE_NETWORKS = False
    create_setting(alice, options__host="127.0.0.1", options__port=2525)

    response = client.post(
        "/api/v2/email/settings/test/someone@example.org?domain=" + SEED_DOMAIN,
        headers=alice.headers,
    )

    assert response.status_code == 400
    assert response.json() == {
        "status": "error",
        "info": "127.0.0.1 is on a private or reserved address (127.0.0.1); relaying there is "
        "not allowed",
    }


def store_settings_for_host(tenant, server, host, **options):
    data = smtp_settings_for(server, **options)
    data["options"]["host"] = host
    relay_setting, _ = services.save_relay_setting(tenant.owner, domain=SEED_DOMAIN, data=data)
    return relay_setting


@pytest.mark.parametrize("secure", [False, True])
def test_it_connects_to_the_address_it_checked_when_the_dns_answer_changes(
    client, alice, smtp_server, tls_certificate, fake_dns, settings, secure
):
    settings.RELAY_ALLOW_PRIVATE_NETWORKS = False
    server = smtp_server(implicit_tls=tls_certificate if secure else None)
    fake_dns.connects.clear()  # aiosmtpd's own start-up probe
    # Public when checked, this machine ever after: a rebinding attack on the upstream's name.
    fake_dns.answers["mail.rebinding.example"] = [PUBLIC_ADDRESS, "127.0.0.1"]
    store_settings_for_host(alice, server, "mail.rebinding.example", secure=secure)

    response = send_test(client, alice)

    assert response.status_code == 400
    assert response.json() == error_body(
        f"Cannot connect to mail.rebinding.example:{server.port}: Connection refused"
    )
    assert fake_dns.lookups == ["mail.rebinding.example"]
    assert fake_dns.connects_to_port(server.port) == [(PUBLIC_ADDRESS, server.port)]
    assert server.messages == []


@dataclass(frozen=True)
class SniRecordingCertificate(TlsCertificate):
    """A certificate whose server contexts record the name each client asked for (SNI)."""

    names: list = field(default_factory=list)

    def server_context(self) -> ssl.SSLContext:
        context = super().server_context()
        context.sni_callback = lambda connection, name, context: self.names.append(name)
        return context


def test_it_checks_the_upstreams_certificate_and_sends_sni_for_the_name_not_the_address(
    client, alice, smtp_server, fake_dns, tmp_path, monkeypatch
):
    issued = generate_self_signed_certificate(tmp_path, hostname="mail.example")
    certificate = SniRecordingCertificate(issued.cert_path, issued.key_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert_path))  # trusted like a real CA's
    server = smtp_server(starttls=certificate)
    # Both names lead to 127.0.0.1, which the certificate also covers: only the name tells them
    # apart.
    fake_dns.answers["mail.example"] = ["127.0.0.1"]
    fake_dns.answers["other.example"] = ["127.0.0.1"]

    store_settings_for_host(alice, server, "mail.example", reject_unauthorized=True)
    trusted = send_test(client, alice)
    store_settings_for_host(alice, server, "other.example", reject_unauthorized=True)
    mismatched = send_test(client, alice)

    assert trusted.json() == {"status": "OK"}
    assert mismatched.json() == error_body(
        "TLS certificate of other.example not trusted: Hostname mismatch, certificate is not "
        "valid for 'other.example'."
    )
    assert certificate.names == ["mail.example", "other.example"]
    assert [received.encrypted for received in server.messages] == [True]

"""Verified sending domains over SMTP (API.md §5): MAIL FROM and header From refused until the
domain is verified, and relayed mail signed with DKIM that verifies against the key published
in the (loopback) DNS, also after a key rotation."""

import smtplib

import dkim
import pytest

from mailqueue.models import QueuedMessage
from relaysettings import services
from relaysettings.models import DkimKey, DnsStatus, RelaySetting
from smtpusers.services import create_smtp_user
from testing.dns import verified_domain
from testing.email_settings import seed_record
from testing.submission import connect, message_bytes, send, wait_until

DOMAIN = "alice.example"
TO = ["reader@destination.test"]


@pytest.fixture
def smtp_user(alice):
    smtp_user, password = create_smtp_user(alice.owner, total_limit=1000, hourly_limit=1000)
    smtp_user.password = password
    return smtp_user


def upstream_record(upstream) -> dict:
    record = seed_record(
        **{"from": f"news@{DOMAIN}"},
        options__host="127.0.0.1",
        options__port=upstream.port,
        options__secure=False,
    )
    del record["options"]["auth"]
    return record


def send_raw(server, client_tls, smtp_user, mail_from: str, data: bytes):
    """(code, reply) of the first refusal, or (250, "accepted")."""
    with connect(server, client_tls) as client:
        client.login(smtp_user.smtp_user_name, smtp_user.password)
        try:
            client.sendmail(mail_from, TO, data)
        except smtplib.SMTPSenderRefused as error:
            return error.smtp_code, error.smtp_error.decode()
        except smtplib.SMTPDataError as error:
            return error.smtp_code, error.smtp_error.decode()
    return 250, "accepted"


def with_from(header: str, body: bytes = b"Hello\r\n") -> bytes:
    return f"From: {header}\r\nTo: reader@destination.test\r\nSubject: Hi\r\n\r\n".encode() + body


def test_it_refuses_mail_from_an_unverified_domain_until_it_is_verified(
    alice, smtp_user, start_server, client_tls, upstream, dns_zone, domain_verification
):
    relay_setting, _ = services.save_relay_setting(
        alice.owner, domain=DOMAIN, data=upstream_record(upstream)
    )
    server = start_server()

    before = send_raw(
        server, client_tls, smtp_user, f"news@{DOMAIN}", message_bytes(f"news@{DOMAIN}", TO)
    )
    dns_zone.publish_verification(relay_setting)
    services.verify_domain(alice.owner, domain=DOMAIN)
    after = send_raw(
        server, client_tls, smtp_user, f"news@{DOMAIN}", message_bytes(f"news@{DOMAIN}", TO)
    )

    assert before == (
        550,
        "5.7.1 Domain alice.example is not verified: publish its TXT record "
        "_smtprelay.alice.example (see the Domains page) and verify it",
    )
    assert after == (250, "accepted")
    wait_until(lambda: upstream.messages, message="delivery")
    assert QueuedMessage.objects.count() == 1


@pytest.mark.parametrize(
    "header",
    [
        "ceo@a-corp.example",
        "Alice <news@alice.example>, ceo@a-corp.example",
        "Team: news@alice.example, ceo@a-corp.example;",
        '"news@alice.example" <ceo@a-corp.example>',
        "=?utf-8?q?news=40alice=2Eexample?= <ceo@a-corp.example>",
        "news@alice.example <ceo@a-corp.example>",
    ],
)
def test_it_refuses_a_header_from_outside_the_verified_domains(
    alice, smtp_user, start_server, client_tls, upstream, dns_zone, domain_verification, header
):
    verified_domain(alice.owner, dns_zone, DOMAIN, upstream_record(upstream))
    server = start_server()

    reply = send_raw(server, client_tls, smtp_user, f"news@{DOMAIN}", with_from(header))

    assert reply == (
        550,
        "5.7.1 Header From <ceo@a-corp.example> is not in a verified domain of yours "
        "(a-corp.example is not verified)",
    )
    assert not QueuedMessage.objects.exists()


@pytest.mark.parametrize(
    ("header", "reply"),
    [
        ("undisclosed-recipients:;", "The message has no From address"),
        (
            "=?utf-8?b?Y2VvQGEtY29ycC5leGFtcGxl?=",
            "Header From '=?utf-8?b?Y2VvQGEtY29ycC5leGFtcGxl?='",
        ),
    ],
)
def test_it_refuses_a_header_from_it_cannot_read(
    alice,
    smtp_user,
    start_server,
    client_tls,
    upstream,
    dns_zone,
    domain_verification,
    header,
    reply,
):
    verified_domain(alice.owner, dns_zone, DOMAIN, upstream_record(upstream))
    server = start_server()

    code, text = send_raw(server, client_tls, smtp_user, f"news@{DOMAIN}", with_from(header))

    assert (code, text.startswith(f"5.7.1 {reply}")) == (550, True)


def test_it_accepts_every_header_from_in_the_owners_verified_domains(
    alice, smtp_user, start_server, client_tls, upstream, dns_zone, domain_verification
):
    verified_domain(alice.owner, dns_zone, DOMAIN, upstream_record(upstream))
    verified_domain(alice.owner, dns_zone, "news.alice.example", upstream_record(upstream))
    server = start_server()

    reply = send_raw(
        server,
        client_tls,
        smtp_user,
        f"news@{DOMAIN}",
        with_from("=?utf-8?q?Alice_=C3=A9?= <a@ALICE.example>, Team: b@news.alice.example;"),
    )

    assert reply == (250, "accepted")


def test_it_signs_relayed_mail_with_the_published_key_also_after_a_rotation(
    alice, smtp_user, start_server, client_tls, upstream, dns_zone, domain_verification
):
    verified_domain(alice.owner, dns_zone, DOMAIN, upstream_record(upstream))
    old = DkimKey.objects.get()
    server = start_server()
    mail = {"login": smtp_user.smtp_user_name, "password": smtp_user.password, "to": TO}

    send(server, client_tls, mail_from=f"news@{DOMAIN}", subject="Before", **mail)
    new = services.start_dkim_rotation(alice.owner, domain=DOMAIN)
    dns_zone.publish_dkim(new)
    services.verify_domain(alice.owner, domain=DOMAIN)
    send(server, client_tls, mail_from=f"news@{DOMAIN}", subject="After", **mail)

    wait_until(lambda: len(upstream.messages) >= 2, message="two deliveries")
    before, after = (message.data for message in upstream.messages)
    assert before.startswith(
        b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=alice.example"
    )
    assert f"s={old.selector};".encode() in before.split(b"\r\n\r\n")[0].replace(b"\r\n", b"")
    assert f"s={new.selector};".encode() in after.split(b"\r\n\r\n")[0].replace(b"\r\n", b"")
    assert dkim.verify(before, dnsfunc=dns_zone.dkim_record)
    assert dkim.verify(after, dnsfunc=dns_zone.dkim_record)
    # A changed body no longer verifies: the signature covers it.
    assert not dkim.verify(
        after.replace(b"After: sent", b"Later: sent"), dnsfunc=dns_zone.dkim_record
    )


def test_it_relays_mail_of_an_unverified_domain_unsigned_when_verification_is_off(
    alice, smtp_user, start_server, client_tls, upstream
):
    services.save_relay_setting(alice.owner, domain=DOMAIN, data=upstream_record(upstream))
    server = start_server()

    send(
        server,
        client_tls,
        login=smtp_user.smtp_user_name,
        password=smtp_user.password,
        mail_from=f"news@{DOMAIN}",
        to=TO,
    )

    wait_until(lambda: upstream.messages, message="delivery")
    assert b"DKIM-Signature" not in upstream.messages[0].data


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        (
            "verification lost",
            "5.7.1 Domain alice.example is not verified: publish its TXT record "
            "_smtprelay.alice.example (see the Domains page) and verify it",
        ),
        (
            "settings removed",
            "5.7.1 Sender domain alice.example is not one of your domains with email settings",
        ),
    ],
)
def test_it_decides_again_at_data_when_the_domain_changed_after_mail(
    alice, smtp_user, start_server, client_tls, upstream, dns_zone, domain_verification, change,
    refusal,
):  # fmt: skip
    relay_setting = verified_domain(alice.owner, dns_zone, DOMAIN, upstream_record(upstream))
    server = start_server()

    with connect(server, client_tls) as client:
        client.login(smtp_user.smtp_user_name, smtp_user.password)
        mail_reply = client.mail(f"news@{DOMAIN}")
        client.rcpt(TO[0])
        if change == "verification lost":
            # As the periodic check records a record that disappeared.
            RelaySetting.objects.filter(pk=relay_setting.pk).update(
                verification_status=DnsStatus.FAILED
            )
        else:
            services.delete_relay_setting(alice.owner, domain=DOMAIN)
        data_reply = client.data(message_bytes(f"news@{DOMAIN}", TO))

    assert mail_reply[0] == 250
    assert (data_reply[0], data_reply[1].decode()) == (550, refusal)
    assert not QueuedMessage.objects.exists()
    smtp_user.refresh_from_db()
    assert smtp_user.total_used == 0

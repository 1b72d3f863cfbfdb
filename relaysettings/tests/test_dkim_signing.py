"""DKIM signatures of relayed mail (relaysettings.services.dkim_signed): made with OpenSSL,
checked here by dkimpy's verifier against the key published in the (loopback) DNS."""

import dkim
import pytest

from relaysettings import services
from testing.dns import verified_domain
from testing.email_settings import seed_record

DOMAIN = "alice.example"

FOLDED_HEADERS = (
    b"From: Alice Example\r\n <news@alice.example>\r\n"
    b"To: one@destination.test,\r\n\ttwo@destination.test,   \r\n  three@destination.test\r\n"
    b"Subject:   A subject\r\n that goes on\t\tover three\r\n\tlines  \r\n"
    b"Date: Tue, 1 Dec 2026 10:00:00 +0000\r\n"
    b"\r\n"
    b"Body  with   spaces \t\r\n\r\nand trailing blank lines\r\n\r\n\r\n"
)
EIGHT_BIT = (
    "From: Jürgen <news@alice.example>\r\n"
    "To: reader@destination.test\r\n"
    "Subject: Grüße aus Köln\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Grüße, 你好, привет — ½ € \r\n"
).encode() + b"\xff\xfe raw bytes that are no UTF-8\r\n"
# Of the signed headers only From: the absent ones are signed as absent.
FROM_ONLY = b"From: news@alice.example\r\n\r\nHello\r\n"


@pytest.fixture
def relay_setting(alice, dns_zone, domain_verification):
    return verified_domain(alice.owner, dns_zone, DOMAIN, seed_record(**{"from": f"news@{DOMAIN}"}))


@pytest.mark.parametrize(
    "message", [FOLDED_HEADERS, EIGHT_BIT, FROM_ONLY], ids=["folded", "8-bit", "from-only"]
)
def test_it_signs_so_that_dkimpy_verifies_with_the_published_key(relay_setting, dns_zone, message):
    signed = services.dkim_signed(relay_setting, message)

    signature, original = signed[: -len(message)], signed[-len(message) :]
    assert signature.startswith(
        b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=alice.example;"
    )
    assert max(len(line) for line in signature.split(b"\r\n")) <= 78
    assert original == message
    assert dkim.verify(signed, dnsfunc=dns_zone.dkim_record)


@pytest.mark.parametrize(
    "change",
    [
        (b"\r\n\r\nHello", b"\r\nReply-To: other@attacker.test\r\n\r\nHello"),
        (b"\r\n\r\nHello", b"\r\nSubject: added\r\n\r\nHello"),
        (b"Hello", b"Hullo"),
        (b"news@alice", b"nevs@alice"),
    ],
    ids=["absent-header-added", "another-absent-header-added", "body", "from"],
)
def test_it_signs_absent_headers_so_that_adding_one_breaks_the_signature(
    relay_setting, dns_zone, change
):
    signed = services.dkim_signed(relay_setting, FROM_ONLY)

    assert dkim.verify(signed, dnsfunc=dns_zone.dkim_record)
    assert not dkim.verify(signed.replace(*change), dnsfunc=dns_zone.dkim_record)


def test_it_sends_a_message_it_cannot_parse_unsigned_as_it_came(relay_setting):
    message = b"From: news@alice.example\r\nnot a header line\r\n\r\nHello\r\n"

    assert services.dkim_signed(relay_setting, message) == message

"""Unit tests of the rules in relaysettings.verification: reading the header From robustly, the
SPF advice, names relative to the zone."""

import pytest

from relaysettings.verification import (
    SenderDomainRefused,
    header_from_domains,
    relative_name,
    suggested_spf,
)


def headers(from_header: bytes) -> bytes:
    return b"From: " + from_header + b"\r\nSubject: x\r\n\r\nFrom: not@a-header.example\r\n"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"Alice <a@Good.Example>", {"a@Good.Example": "good.example"}),
        (
            b"=?utf-8?q?Smith=2C_John?= <j@good.example>",
            {"j@good.example": "good.example"},
        ),
        (
            b"Team: a@good.example, b@other.example;",
            {"a@good.example": "good.example", "b@other.example": "other.example"},
        ),
        (
            b"a@good.example <b@other.example>",
            {"a@good.example": "good.example", "b@other.example": "other.example"},
        ),
        (
            b'"a@good.example" <b@other.example>',
            {"b@other.example": "other.example"},
        ),
        (
            "J\u00fcrgen <j@b\u00fccher.example>".encode(),
            {"j@b\u00fccher.example": "xn--bcher-kva.example"},
        ),
    ],
)
def test_it_finds_every_header_from_address_either_parser_sees(header, expected):
    assert header_from_domains(headers(header)) == expected


def test_it_reads_every_from_field_and_stops_at_the_body():
    message = b"From: a@good.example\r\nFrom: b@other.example\r\n\r\nFrom: c@body.example\r\n"

    assert set(header_from_domains(message).values()) == {"good.example", "other.example"}


def test_it_reads_a_repeated_from_header_the_same_way_every_time():
    # The second message shares the first one's From field and adds another: the answer for
    # one header is remembered (bulk mail repeats it), never reused for a different one.
    first = header_from_domains(b"From: a@good.example\r\nSubject: 1\r\n\r\nx")
    first["a@good.example"] = "changed.example"  # a caller's copy, not the remembered answer
    again = header_from_domains(b"From: a@good.example\r\nSubject: 2\r\n\r\nx")
    added = b"From: a@good.example\r\nSubject: 3\r\nFROM: ceo@a-corp.example\r\n\r\nx"

    assert again == {"a@good.example": "good.example"}
    assert header_from_domains(added) == {
        "a@good.example": "good.example",
        "ceo@a-corp.example": "a-corp.example",
    }


@pytest.mark.parametrize(
    "header", [b"undisclosed:;", b"bob", b"=?utf-8?b?YUBldmlsLmNvbQ==?=", b"a@[127.0.0.1]"]
)
def test_it_refuses_a_from_without_a_readable_address(header):
    with pytest.raises(SenderDomainRefused):
        header_from_domains(headers(header))


def test_it_refuses_a_message_without_from():
    with pytest.raises(SenderDomainRefused) as raised:
        header_from_domains(b"Subject: x\r\n\r\nbody\r\n")

    assert raised.value.message.startswith("The message has no From address")


@pytest.mark.parametrize(
    ("existing", "host", "expected"),
    [
        (None, "smtp.provider.example", "v=spf1 a:smtp.provider.example ~all"),
        (None, "192.0.2.7", "v=spf1 ip4:192.0.2.7 ~all"),
        ("v=spf1 mx -all", "smtp.provider.example", "v=spf1 mx a:smtp.provider.example -all"),
        (
            "v=spf1 redirect=_spf.x.example",
            "h.example",
            "v=spf1 a:h.example redirect=_spf.x.example",
        ),
        ("v=spf1 include:h.example ~all", "h.example", "v=spf1 include:h.example ~all"),
        ("v=spf1 ip4:192.0.2.7/32 ~all", "192.0.2.7", "v=spf1 ip4:192.0.2.7/32 ~all"),
    ],
)
def test_it_advises_one_spf_record_naming_the_upstream(existing, host, expected):
    assert suggested_spf(existing, host) == expected


def test_it_names_records_relative_to_their_zone():
    assert relative_name("_smtprelay.mail.example.com", "example.com") == "_smtprelay.mail"
    assert relative_name("example.com", "example.com") == "@"
    assert relative_name("_dmarc.example.com", "") == "_dmarc.example.com"

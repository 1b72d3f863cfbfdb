"""The internal-address rule, and resolving a customer's host once."""

import ipaddress
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
import requests

from core.network import (
    InternalAddressError,
    checked_addresses,
    http_session,
    is_internal_address,
)
from testing.rebinding import PUBLIC_ADDRESS
from testing.smtp import generate_self_signed_certificate


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "169.254.169.254",
        "0.0.0.0",
        "0.1.2.3",  # 0.0.0.0/8: "this network"
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::7f00:1",  # IPv4-compatible ::/96 (deprecated), whatever it wraps
        "::808:808",
        "64:ff9b::7f00:1",  # NAT64 well-known prefix to 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # ... to 169.254.169.254
        "64:ff9b:1::808:808",  # local-use NAT64 64:ff9b:1::/48, whatever it wraps
        "fec0::1",  # site-local fec0::/10
        "fef0::1",
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo (client 127.0.0.1 after un-XOR)
        "2001:0:5ef5:79fd:0:59d:a0e5:ba1",  # Teredo of a public client: 2001::/23 is not global
    ],
)
def test_it_counts_the_address_as_internal(address):
    assert is_internal_address(ipaddress.ip_address(address)) is True


@pytest.mark.parametrize(
    "address",
    [
        PUBLIC_ADDRESS,
        "8.8.8.8",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        # NAT64's well-known prefix leads to the public IPv4 address it carries (DNS64 networks
        # reach every IPv4-only host that way).
        "64:ff9b::808:808",
        "2002:808:808::1",  # 6to4 of 8.8.8.8
    ],
)
def test_it_counts_the_address_as_public(address):
    assert is_internal_address(ipaddress.ip_address(address)) is False


def test_it_resolves_a_name_once_and_refuses_it_when_any_answer_is_internal(fake_dns):
    fake_dns.answers["mail.example"] = [PUBLIC_ADDRESS, "127.0.0.1"]
    fake_dns.answers["inside.example"] = ["10.0.0.8"]

    addresses = checked_addresses("mail.example", 25, allow_internal=False)
    with pytest.raises(InternalAddressError) as refused:
        checked_addresses("inside.example", 25, allow_internal=False)
    allowed = checked_addresses("inside.example", 25, allow_internal=True)

    assert addresses == [ipaddress.ip_address(PUBLIC_ADDRESS)]
    assert fake_dns.lookups == ["mail.example", "inside.example", "inside.example"]
    assert str(refused.value) == "inside.example resolves to an internal address (10.0.0.8)"
    assert allowed == [ipaddress.ip_address("10.0.0.8")]


@pytest.fixture
def https_server(tmp_path):
    """An HTTPS server on 127.0.0.1 with a certificate for hooks.example (and 127.0.0.1) that
    records the name each client asked for (SNI)."""
    certificate = generate_self_signed_certificate(tmp_path, hostname="hooks.example")
    context = certificate.server_context()
    names = []
    context.sni_callback = lambda connection, name, context: names.append(name)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(self.headers["Host"].encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield SimpleNamespace(
        port=server.server_address[1], names=names, cert_path=str(certificate.cert_path)
    )
    server.shutdown()
    server.server_close()


def test_it_sends_https_to_the_checked_address_with_the_name_for_sni_and_the_certificate(
    https_server, fake_dns
):
    # What the names would resolve to now: never asked, the checked address is used.
    fake_dns.answers["hooks.example"] = ["10.9.9.9"]
    fake_dns.answers["other.example"] = ["10.9.9.9"]
    loopback = [ipaddress.ip_address("127.0.0.1")]

    with http_session(loopback) as session:
        response = session.get(
            f"https://hooks.example:{https_server.port}/", verify=https_server.cert_path
        )
        # The certificate also covers 127.0.0.1: a mismatch shows the name is what is checked.
        with pytest.raises(requests.exceptions.SSLError, match="Hostname mismatch"):
            session.get(
                f"https://other.example:{https_server.port}/", verify=https_server.cert_path
            )

    assert (response.status_code, response.text) == (200, f"hooks.example:{https_server.port}")
    assert https_server.names == ["hooks.example", "other.example"]
    assert fake_dns.lookups == []
    assert fake_dns.connects_to_port(https_server.port) == [("127.0.0.1", https_server.port)] * 2

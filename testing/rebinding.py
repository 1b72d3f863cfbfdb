"""A resolver the test controls for DNS rebinding, and a network that reaches loopback only.

    def test_it_(fake_dns):
        fake_dns.answers["mail.example"] = ["93.184.216.34", "127.0.0.1"]  # then rebinds

Every lookup of a name in `answers` (whoever makes it: the portal, smtplib, urllib3) gets the
next answer, the last one repeating; other names resolve as usual. Every TCP connect is
recorded in `connects`; one to a non-loopback address is refused without leaving the machine.
"""

import errno
import ipaddress
import socket
from dataclasses import dataclass, field

import pytest

# A public address (so the internal-address rule lets it through) never actually connected to.
PUBLIC_ADDRESS = "93.184.216.34"


@dataclass
class FakeDns:
    answers: dict[str, list[str]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    connects: list[tuple[str, int]] = field(default_factory=list)

    def answer_for(self, host: str) -> str | None:
        key = host.lower().rstrip(".")
        if key not in self.answers:
            return None
        given = sum(1 for name in self.lookups if name == key)
        self.lookups.append(key)
        return self.answers[key][min(given, len(self.answers[key]) - 1)]

    def connects_to_port(self, port: int) -> list[tuple[str, int]]:
        return [connect for connect in self.connects if connect[1] == port]


@pytest.fixture
def fake_dns(monkeypatch) -> FakeDns:
    dns = FakeDns()
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host, port, *args, **kwargs):
        answer = dns.answer_for(host) if isinstance(host, str) else None
        return real_getaddrinfo(answer or host, port, *args, **kwargs)

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host, port = address[:2]
            dns.connects.append((host, port))
            if not ipaddress.ip_address(host).is_loopback:
                raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        return real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return dns

"""A real DNS server for tests: UDP on 127.0.0.1, answering from a zone the test controls
(dnspython builds the answers). The portal reaches it through DNS_RESOLVER, as in production.

    def test_something(dns_zone):
        dns_zone.publish_txt("_smtprelay.example.com", "smtprelay-verification=...")
        dns_zone.remove("_smtprelay.example.com")

Fixtures:
- `_no_outside_dns` (autouse): DNS_RESOLVER points at a loopback port nobody answers on, so
  no test ever asks the machine's resolver; DOMAIN_VERIFICATION is off, as the tests written
  before verified domains expect (they send from domains nobody verified);
- `domain_verification`: DOMAIN_VERIFICATION on, for the tests of the verification itself;
- `dns_zone`: a running DnsServer, DNS_RESOLVER pointing at it;
- `_reused_dkim_keys` (autouse): new domains take their RSA keys from a few made once per
  session (generating one costs about 65 ms, and hundreds of tests create domains).
"""

import itertools
import socket
import threading
from collections.abc import Iterator

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from relaysettings import dkim, services, verification
from relaysettings.models import DkimKey, RelaySetting
from testing.submission import HOST, free_port

TTL = 60


def _txt_rdata(value: str) -> str:
    """A TXT value in zone-file syntax, split into the 255-byte strings DNS needs."""
    data = value.encode()
    chunks = [data[start : start + 255] for start in range(0, len(data), 255)] or [b""]
    return " ".join(
        '"' + chunk.decode().replace("\\", "\\\\").replace('"', '\\"') + '"' for chunk in chunks
    )


class DnsServer:
    """Authoritative for every zone in `zones`; answers TXT (and SOA, for zone look-ups)."""

    def __init__(self):
        self.zones: set[str] = set()
        self.txt: dict[str, list[str]] = {}
        self.queries: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((HOST, 0))
        self._socket.settimeout(0.2)
        self._running = True
        self._thread = threading.Thread(target=self._serve, name="test-dns", daemon=True)

    @property
    def address(self) -> str:
        return f"{HOST}:{self._socket.getsockname()[1]}"

    def start(self) -> "DnsServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._running = False
        self._thread.join()
        self._socket.close()

    # What the test publishes.

    def add_zone(self, zone: str) -> None:
        with self._lock:
            self.zones.add(zone.lower().rstrip("."))

    def publish_txt(self, name: str, value: str) -> None:
        name = name.lower().rstrip(".")
        with self._lock:
            self.txt.setdefault(name, []).append(value)
        if not self._zone_for(name):
            # The registrable-looking parent (last two labels) becomes a zone.
            self.add_zone(".".join(name.split(".")[-2:]))

    def remove(self, name: str) -> None:
        with self._lock:
            self.txt.pop(name.lower().rstrip("."), None)

    def publish_verification(self, relay_setting: RelaySetting) -> None:
        self.publish_txt(
            verification.ownership_name(relay_setting.domain),
            verification.ownership_value(relay_setting),
        )

    def publish_dkim(self, key: DkimKey) -> None:
        self.publish_txt(dkim.record_name(key, key.relay_setting.domain), dkim.record_value(key))

    def dkim_record(self, name: bytes, timeout: int = 5) -> bytes | None:
        """A dnsfunc for dkim.verify: the zone's TXT at `name`, straight from the dict."""
        values = self.txt.get(name.decode().lower().rstrip("."), [])
        return values[0].encode() if values else None

    # Serving.

    def _zone_for(self, name: str) -> str | None:
        labels = name.split(".")
        for start in range(len(labels)):
            candidate = ".".join(labels[start:])
            if candidate in self.zones:
                return candidate
        return None

    def _serve(self) -> None:
        while self._running:
            try:
                wire, client = self._socket.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                query = dns.message.from_wire(wire)
            except dns.exception.DNSException:
                continue
            self._socket.sendto(self._answer(query).to_wire(max_size=65535), client)

    def _answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        with self._lock:
            self.queries.append((name, dns.rdatatype.to_text(question.rdtype)))
            zone = self._zone_for(name)
            values = list(self.txt.get(name, []))
            exists = (
                bool(values)
                or name == zone
                or any(other.endswith(f".{name}") for other in self.txt)
            )
        if zone is None:
            # As a recursive resolver answers for a name nobody registered.
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        soa = dns.rrset.from_text(
            f"{zone}.", TTL, "IN", "SOA", f"ns.{zone}. admin.{zone}. 1 3600 600 86400 60"
        )
        if question.rdtype == dns.rdatatype.TXT and values:
            response.answer.append(
                dns.rrset.from_text_list(
                    question.name, TTL, "IN", "TXT", [_txt_rdata(value) for value in values]
                )
            )
        elif question.rdtype == dns.rdatatype.SOA and name == zone:
            response.answer.append(soa)
        else:
            if not exists:
                response.set_rcode(dns.rcode.NXDOMAIN)
            response.authority.append(soa)
        return response


def verified_domain(owner, zone: DnsServer, domain: str, data: dict) -> RelaySetting:
    """Relay settings for `domain` stored, their records published in `zone`, verified."""
    relay_setting, _ = services.save_relay_setting(owner, domain=domain, data=data)
    zone.publish_verification(relay_setting)
    for key in relay_setting.dkim_keys.all():
        zone.publish_dkim(key)
    return services.verify_domain(owner, domain=domain)


@pytest.fixture(autouse=True)
def _no_outside_dns(settings, monkeypatch):
    # The environment too: servers a test starts as processes (runsmtp) read it.
    settings.DNS_RESOLVER = f"{HOST}:{free_port()}"
    settings.DNS_TIMEOUT_SECONDS = 0.5
    settings.DOMAIN_VERIFICATION = False
    monkeypatch.setenv("DNS_RESOLVER", settings.DNS_RESOLVER)
    monkeypatch.setenv("DOMAIN_VERIFICATION", "False")


@pytest.fixture
def domain_verification(_no_outside_dns, settings, monkeypatch):
    settings.DOMAIN_VERIFICATION = True
    monkeypatch.setenv("DOMAIN_VERIFICATION", "True")
    return settings


@pytest.fixture
def dns_zone(_no_outside_dns, settings) -> Iterator[DnsServer]:
    server = DnsServer().start()
    settings.DNS_RESOLVER = server.address
    settings.DNS_TIMEOUT_SECONDS = 2
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _dkim_key_pool() -> list:
    return [dkim.new_private_key() for _ in range(3)]


@pytest.fixture(autouse=True)
def _reused_dkim_keys(monkeypatch, _dkim_key_pool):
    # Consecutive keys differ, so a rotation still gets a new key.
    keys = itertools.cycle(_dkim_key_pool)
    monkeypatch.setattr(dkim, "new_private_key", lambda: next(keys))

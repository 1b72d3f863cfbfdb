"""DNS look-ups for the domain checks (dnspython), through the servers DNS_RESOLVER names.

A name or record type that does not exist is an answer (no records); a server that does not
answer, or answers with an error, is a DnsLookupError whose message says so in plain words.
"""

import dns.exception
import dns.name
import dns.nameserver
import dns.resolver
from django.conf import settings

# Big enough for a DKIM record of a 2048-bit key in one UDP answer.
EDNS_PAYLOAD = 1232


class DnsLookupError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _server(entry: str) -> dns.nameserver.Do53Nameserver:
    """`host`, `host:port`, `[v6]:port` -> a nameserver (port 53 unless given)."""
    entry = entry.strip()
    if entry.startswith("["):
        host, _, port = entry[1:].partition("]")
        port = port.removeprefix(":")
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    else:
        host, port = entry, ""
    return dns.nameserver.Do53Nameserver(host, int(port or 53))


def resolver() -> dns.resolver.Resolver:
    configured = settings.DNS_RESOLVER.strip()
    if configured:
        result = dns.resolver.Resolver(configure=False)
        result.nameservers = [_server(entry) for entry in configured.split(",") if entry.strip()]
    else:
        result = dns.resolver.Resolver()
    result.lifetime = settings.DNS_TIMEOUT_SECONDS
    result.timeout = settings.DNS_TIMEOUT_SECONDS
    result.use_edns(0, 0, EDNS_PAYLOAD)
    return result


def _failure(name: str, error: dns.exception.DNSException) -> DnsLookupError:
    if isinstance(error, dns.resolver.LifetimeTimeout):
        return DnsLookupError(
            f"No answer from the DNS server within {settings.DNS_TIMEOUT_SECONDS:g} s "
            f"looking up {name}"
        )
    if isinstance(error, dns.resolver.NoNameservers):
        return DnsLookupError(f"The DNS server could not answer for {name} (server failure)")
    return DnsLookupError(f"DNS look-up of {name} failed: {error}")


def txt_records(name: str) -> list[str]:
    """The TXT values at `name`, each record's strings joined; [] if there are none."""
    try:
        answer = resolver().resolve(name, "TXT", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as error:
        raise _failure(name, error) from None
    return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


def zone_of(name: str) -> str:
    """The DNS zone that holds `name` (its SOA's owner), or "" when that cannot be found."""
    try:
        zone = dns.resolver.zone_for_name(name, resolver=resolver())
    except dns.exception.DNSException:
        return ""
    return zone.to_text(omit_final_dot=True)

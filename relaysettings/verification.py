"""The DNS records a sending domain needs, how each is checked, and the header From rule.

Nothing here writes: relaysettings.services records what a check found and enforces it.

Records (all TXT):
- ownership: `_smtprelay.<domain>` = `smtprelay-verification=<token>` (required);
- DKIM: `<selector>._domainkey.<domain>` = `v=DKIM1; k=rsa; p=<key>` (one per published key);
- SPF at `<domain>`, naming the upstream's host (advice);
- DMARC at `_dmarc.<domain>`, `v=DMARC1; p=none` to start with (advice).
"""

import ipaddress
import re
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesHeaderParser, HeaderParser
from email.utils import getaddresses
from functools import lru_cache

from core.errors import ServiceError
from relaysettings import dkim, dns
from relaysettings.models import DkimKey, RelaySetting
from relaysettings.validators import parse_domain

OWNERSHIP_LABEL = "_smtprelay"
OWNERSHIP_PREFIX = "smtprelay-verification="
SUGGESTED_DMARC = "v=DMARC1; p=none"

# What a check found for one record.
FOUND, MISSING, WRONG, UNCHECKED = "found", "missing", "wrong", "error"


class SenderDomainRefused(ServiceError):
    """Mail may not leave with this sender: its domain is not verified by the owner, or the
    header From cannot be read. SMTP answers it with 550 5.7.1."""


@dataclass(frozen=True)
class Finding:
    status: str  # FOUND, MISSING, WRONG or UNCHECKED (the look-up failed)
    detail: str = ""
    found: tuple[str, ...] = ()
    # For advice records: the value to publish (an existing record with the missing part added).
    suggested: str = ""

    def as_json(self) -> dict:
        return {
            "status": self.status,
            "detail": self.detail,
            "found": list(self.found),
            "suggested": self.suggested,
        }


@dataclass
class DomainCheck:
    zone: str
    ownership: Finding
    spf: Finding
    dmarc: Finding
    dkim: dict[str, Finding] = field(default_factory=dict)  # by selector

    def findings_json(self) -> dict:
        return {
            "ownership": self.ownership.as_json(),
            "dkim": {selector: finding.as_json() for selector, finding in self.dkim.items()},
            "spf": self.spf.as_json(),
            "dmarc": self.dmarc.as_json(),
        }


def ownership_name(domain: str) -> str:
    return f"{OWNERSHIP_LABEL}.{domain}"


def ownership_value(relay_setting: RelaySetting) -> str:
    return f"{OWNERSHIP_PREFIX}{relay_setting.verification_token}"


def _look_up(name: str) -> list[str] | Finding:
    try:
        return dns.txt_records(name)
    except dns.DnsLookupError as error:
        return Finding(UNCHECKED, error.message)


def check_ownership(relay_setting: RelaySetting) -> Finding:
    name, expected = ownership_name(relay_setting.domain), ownership_value(relay_setting)
    values = _look_up(name)
    if isinstance(values, Finding):
        return values
    if expected in (value.strip() for value in values):
        return Finding(FOUND, found=(expected,))
    ours = tuple(value for value in values if value.strip().startswith(OWNERSHIP_PREFIX))
    if ours:
        return Finding(
            WRONG,
            f"The TXT record at {name} is {ours[0]!r}; it must be {expected!r}",
            found=ours,
        )
    return Finding(MISSING, f"No TXT record {expected!r} at {name} yet", found=tuple(values))


def check_dkim(key: DkimKey, domain: str) -> Finding:
    name = dkim.record_name(key, domain)
    values = _look_up(name)
    if isinstance(values, Finding):
        return values
    keys = tuple(value for value in values if dkim.published_key(value) is not None)
    if any(dkim.published_key(value) == key.public_key for value in keys):
        return Finding(FOUND, found=keys)
    if keys:
        return Finding(WRONG, f"The DKIM record at {name} holds another key", found=keys)
    return Finding(MISSING, f"No DKIM record at {name} yet")


def _spf_term(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"a:{host}"
    return f"ip{address.version}:{address}"


def _names_host(record: str, term: str) -> bool:
    wanted = {term, term.replace("a:", "include:", 1)}
    for word in record.lower().split()[1:]:
        word = word.lstrip("+-~?")
        if word in wanted or word.removesuffix("/32").removesuffix("/128") in wanted:
            return True
    return False


def suggested_spf(existing: str | None, host: str) -> str:
    """An SPF record that lets the upstream send: `existing` with the upstream added before its
    final all/redirect, or a new one. A domain may have one SPF record only."""
    term = _spf_term(host)
    if not existing:
        return f"v=spf1 {term} ~all"
    if _names_host(existing, term):
        return existing
    words = existing.split()
    last = words[-1].lower().lstrip("+-~?")
    at = len(words) - 1 if last == "all" or last.startswith("redirect=") else len(words)
    return " ".join([*words[:at], term, *words[at:]])


def check_spf(domain: str, host: str) -> Finding:
    values = _look_up(domain)
    if isinstance(values, Finding):
        return values
    records = tuple(value for value in values if value.lower().startswith("v=spf1"))
    if not records:
        return Finding(MISSING, "No SPF record yet", suggested=suggested_spf(None, host))
    if len(records) > 1:
        return Finding(
            WRONG,
            "Several SPF records: receivers then ignore them all; merge them into one",
            found=records,
            suggested=suggested_spf(records[0], host),
        )
    suggested = suggested_spf(records[0], host)
    if suggested != records[0]:
        return Finding(
            WRONG,
            f"The SPF record does not name the upstream server {host}",
            found=records,
            suggested=suggested,
        )
    return Finding(FOUND, found=records, suggested=suggested)


def _dmarc_records(name: str) -> tuple[str, ...] | Finding:
    values = _look_up(name)
    if isinstance(values, Finding):
        return values
    return tuple(value for value in values if value.replace(" ", "").lower().startswith("v=dmarc1"))


def check_dmarc(domain: str, zone: str) -> Finding:
    name = f"_dmarc.{domain}"
    records = _dmarc_records(name)
    if isinstance(records, Finding):
        return records
    if not records and zone and zone != domain:
        # Receivers fall back to the organisation's record (approximated by the zone's).
        inherited = _dmarc_records(f"_dmarc.{zone}")
        if isinstance(inherited, tuple) and len(inherited) == 1:
            return Finding(
                FOUND, f"Inherited from {zone}", found=inherited, suggested=SUGGESTED_DMARC
            )
    if not records:
        return Finding(MISSING, f"No DMARC record at {name} yet", suggested=SUGGESTED_DMARC)
    if len(records) > 1:
        return Finding(
            WRONG,
            "Several DMARC records: receivers then ignore them all; keep one",
            found=records,
            suggested=SUGGESTED_DMARC,
        )
    return Finding(FOUND, found=records, suggested=SUGGESTED_DMARC)


def check_records(relay_setting: RelaySetting, keys: list[DkimKey]) -> DomainCheck:
    """Look up every record of the domain now (about six DNS queries, plus the zone's).

    When the DNS server does not answer the first look-up, the others are not tried: the
    check then takes one timeout, not one per record.
    """
    domain = relay_setting.domain
    ownership = check_ownership(relay_setting)
    if ownership.status == UNCHECKED:
        return DomainCheck(
            zone="",
            ownership=ownership,
            dkim={key.selector: ownership for key in keys},
            spf=ownership,
            dmarc=ownership,
        )
    zone = dns.zone_of(domain)
    return DomainCheck(
        zone=zone,
        ownership=ownership,
        dkim={key.selector: check_dkim(key, domain) for key in keys},
        spf=check_spf(domain, relay_setting.host),
        dmarc=check_dmarc(domain, zone),
    )


def relative_name(name: str, zone: str) -> str:
    """`name` as DNS hosts ask for it: relative to the zone (`@` for the zone itself)."""
    if not zone or not (name == zone or name.endswith(f".{zone}")):
        return name
    return "@" if name == zone else name.removesuffix(f".{zone}")


# The header block ends at the first empty line.
_END_OF_HEADERS = re.compile(rb"\r?\n\r?\n")


def _readable(text: str) -> str:
    """Undo the parser's surrogate escapes of raw UTF-8 (SMTPUTF8 headers)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def header_from_domains(message: bytes) -> dict[str, str]:
    """Every address of the header From (all From fields; groups, lists, encoded words) ->
    its domain, normalised like the email settings' domains.

    Read by two parsers, the standard library's strict one and its lenient getaddresses on
    the raw text, and every address either finds counts: a receiver that reads the header
    either way sees no address that was not checked. SenderDomainRefused when the header is
    missing, empty or holds something that is not an address with a domain.
    """
    end = _END_OF_HEADERS.search(message)
    head = message[: end.start()] + b"\r\n\r\n" if end else message
    # The From fields as stored, unparsed: every policy splits the header block the same way
    # (policy.default's header_source_parse "is the same as Compat32").
    from_fields = tuple(
        (name, value)
        for name, value in BytesHeaderParser(policy=policy.compat32).parsebytes(head).raw_items()
        if name.lower() == "from"
    )
    if head.isascii():
        return dict(_ascii_from_domains(from_fields))
    # The raw text as str: compat32 turns raw 8-bit header bytes into opaque Header objects.
    text = head.decode("utf-8", "surrogateescape")
    raw = HeaderParser(policy=policy.compat32).parsestr(text).get_all("From") or []
    return _from_domains(from_fields, raw)


@lru_cache(maxsize=1024)
def _ascii_from_domains(from_fields: tuple[tuple[str, str], ...]) -> dict[str, str]:
    # Cached by the From fields' text, which bulk mail repeats message after message: parsing
    # them was a quarter of the SMTP server's CPU per message. An ASCII header reads the same
    # to both parsers.
    return _from_domains(from_fields, [value for _, value in from_fields])


def _from_domains(from_fields: tuple[tuple[str, str], ...], raw: list) -> dict[str, str]:
    structured = [policy.default.header_fetch_parse(name, value) for name, value in from_fields]
    addresses = [
        f"{address.username}@{address.domain}" if address.domain else address.username
        for header in structured
        for address in header.addresses
    ]
    addresses += [address for _, address in getaddresses(raw) if address]
    if not addresses:
        raise SenderDomainRefused(
            "The message has no From address; it must name an address in a verified domain"
        )
    domains = {}
    for address in map(_readable, addresses):
        local_part, at, domain = address.rpartition("@")
        try:
            if not (at and local_part):
                raise ServiceError("no domain")
            domains[address] = parse_domain(domain)
        except ServiceError:
            raise SenderDomainRefused(
                f"Header From {address!r} is not an address with a domain name"
            ) from None
    return domains

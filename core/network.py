"""Is an address on the Internet? Customers name hosts the portal connects to (upstream SMTP
servers, webhooks); the portal's own network must not be one of them.

A name is resolved once (`checked_addresses`) and the connection goes to the addresses that
were checked (`connect`, `http_session`): resolving it again to connect would let a DNS answer
that changes in between (public, then 127.0.0.1) lead inside."""

import ipaddress
import socket
from typing import TYPE_CHECKING

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Translation prefixes whose last 32 bits are an IPv4 address the packet ends up at.
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# Local-use NAT64 (RFC 8215): translated inside the operator's network, the IPv4 address may
# sit at any of RFC 6052's offsets.
_NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")


class InternalAddressError(Exception):
    def __init__(self, host: str, address: IPAddress):
        super().__init__(f"{host} resolves to an internal address ({address})")
        self.host = host
        self.address = address


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries to (mapped, NAT64, 6to4), or None."""
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def is_internal_address(address: IPAddress) -> bool:
    """Loopback, private, link-local, site-local, reserved, multicast or unspecified, or an IPv6
    address that leads to such an IPv4 address: not on the Internet."""
    if isinstance(address, ipaddress.IPv6Address):
        # IPv4-compatible addresses (deprecated) and local-use NAT64 never name a public host.
        if address in _IPV4_COMPATIBLE or address in _NAT64_LOCAL_USE or address.is_site_local:
            return True
        # Teredo (2001::/32) is not global by Python's own table, whatever it wraps.
        embedded = _embedded_ipv4(address)
        if embedded is not None and is_internal_address(embedded):
            return True
    return not address.is_global or address.is_multicast


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in the resolver's order. Raises OSError when it does
    not resolve. The one place a customer's host name is looked up."""
    addresses: list[IPAddress] = []
    for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = ipaddress.ip_address(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def checked_addresses(host: str, port: int, *, allow_internal: bool) -> list[IPAddress]:
    """The addresses to connect to for `host`, resolved once. Unless `allow_internal`, raises
    InternalAddressError when any of them is internal (a name with one inside answer is no
    customer's server). Raises OSError when `host` does not resolve."""
    addresses = resolve(host, port)
    if not allow_internal:
        for address in addresses:
            if is_internal_address(address):
                raise InternalAddressError(host, address)
    return addresses


def connect(
    addresses: list[IPAddress] | tuple[IPAddress, ...],
    port: int,
    *,
    timeout: float | None,
    source_address: tuple[str, int] | None = None,
) -> socket.socket:
    """A TCP connection to the first of `addresses` that answers; never resolves a name.
    Raises the last connection error when none does."""
    last_error: OSError = OSError("No address to connect to")
    for address in addresses:
        try:
            return socket.create_connection((str(address), port), timeout, source_address)
        except OSError as error:
            last_error = error
    raise last_error


if TYPE_CHECKING:
    _ConnectionMixinBase = HTTPConnection
else:
    # A mixin, placed before HTTPConnection or HTTPSConnection (_CheckedAddressAdapter).
    _ConnectionMixinBase = object


class _CheckedAddressConnection(_ConnectionMixinBase):
    """A urllib3 connection whose socket goes to `addresses`; its host stays the name, so the
    Host header, TLS SNI and the certificate check all use the name."""

    addresses: tuple[IPAddress, ...] = ()

    def _new_conn(self) -> socket.socket:
        try:
            return connect(
                self.addresses, self.port, timeout=self.timeout, source_address=self.source_address
            )
        except OSError as error:
            raise NewConnectionError(
                self, f"Failed to establish a new connection: {error}"
            ) from error


class _CheckedAddressAdapter(HTTPAdapter):
    def __init__(self, addresses: list[IPAddress]):
        self._addresses = addresses
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        pools = {
            "http": (HTTPConnectionPool, HTTPConnection),
            "https": (HTTPSConnectionPool, HTTPSConnection),
        }
        self.poolmanager.pool_classes_by_scheme = {
            scheme: type(
                pool.__name__,
                (pool,),
                {
                    "ConnectionCls": type(
                        connection.__name__,
                        (_CheckedAddressConnection, connection),
                        {"addresses": tuple(self._addresses)},
                    )
                },
            )
            for scheme, (pool, connection) in pools.items()
        }


def http_session(addresses: list[IPAddress]) -> requests.Session:
    """A requests session whose connections go to `addresses` whatever the URL's host resolves
    to by then. No proxy from the environment: a proxy would resolve the name itself."""
    session = requests.Session()
    session.trust_env = False
    adapter = _CheckedAddressAdapter(addresses)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session

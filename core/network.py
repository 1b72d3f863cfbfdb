"""Is an address on the Internet? Customers name hosts the portal connects to (upstream SMTP
servers, webhooks); the portal's own network must not be one of them."""

import ipaddress
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_internal_address(address: IPAddress) -> bool:
    """Loopback, private, link-local, reserved, multicast or unspecified: not on the Internet."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def internal_address_of(host: str, port: int) -> IPAddress | None:
    """The first internal address `host` resolves to, or None. Raises OSError when it does not
    resolve. (Resolved again when connecting: a DNS answer that changes in between is not
    caught.)"""
    for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if is_internal_address(address):
            return address
    return None

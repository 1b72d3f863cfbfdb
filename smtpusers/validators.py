"""Input rules for SMTP users, shared by the services (and so by every surface)."""

import ipaddress
import re

from core.errors import NotFoundError, ServiceError

MAX_LIMIT = 2_147_483_647
_DIGITS = re.compile(r"[0-9]{1,10}")
STATUS_ENABLE = "Enable"
STATUS_DISABLE = "Disable"


def parse_limit(value, *, field: str) -> int:
    """A positive integer limit from an int or a string of ASCII digits ("500" == 500).

    Booleans, floats (even 500.0), signs, blanks, lists and objects are refused.
    """
    if value is None:
        raise ServiceError(f"{field} is required", field=field)
    error = ServiceError(f"{field} must be a positive integer (1 to {MAX_LIMIT})", field=field)
    if isinstance(value, bool):
        raise error
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        raise error
    if not 1 <= number <= MAX_LIMIT:
        raise error
    return number


def parse_status(value) -> bool:
    """True for Enable, False for Disable, in any letter case."""
    if isinstance(value, str):
        normalised = value.strip().lower()
        if normalised == STATUS_ENABLE.lower():
            return True
        if normalised == STATUS_DISABLE.lower():
            return False
    raise ServiceError(f"status must be {STATUS_ENABLE} or {STATUS_DISABLE}", field="status")


_NAME_SHAPE = re.compile(r"[A-Za-z0-9._-]{1,64}")


def could_be_smtp_user_name(name: str) -> bool:
    """False for a string no SMTP user can have (and the database may not even take)."""
    return bool(_NAME_SHAPE.fullmatch(name))


def parse_smtp_user_name(value) -> str:
    """A name that could exist; any other string names no SMTP user (NotFoundError)."""
    # Only ASCII white space: str.strip() would also take control characters away.
    name = value.strip(" \t\r\n") if isinstance(value, str) else ""
    if not name:
        raise ServiceError("smtp_user_name is required", field="smtp_user_name")
    if not could_be_smtp_user_name(name):
        raise NotFoundError("SMTP user not found", field="smtp_user_name")
    return name


# editSmtp / the dashboard remove a daily limit with 0 or "none" (a left-out or null
# parameter keeps it, as for every other parameter).
NO_DAILY_LIMIT = "none"


def parse_daily_limit(value) -> int | None:
    """A positive daily limit, or None (no daily limit) for 0, "0" or "none" in any case."""
    if isinstance(value, str) and value.strip().lower() in (NO_DAILY_LIMIT, "0"):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value == 0:
        return None
    try:
        return parse_limit(value, field="daily_limit")
    except ServiceError:
        raise ServiceError(
            f'daily_limit must be a positive integer (1 to {MAX_LIMIT}), or 0 or "none" '
            "for no daily limit",
            field="daily_limit",
        ) from None


MAX_ALLOWED_NETWORKS = 50
_NETWORK_SEPARATORS = re.compile(r"[\s,;]+")


def parse_allowed_networks(value) -> list[str]:
    """Networks allowed to log in, normalised ("192.0.2.7" -> "192.0.2.7/32", host bits
    cleared), duplicates dropped, in the given order. Text (one per line, or separated by
    commas or spaces) or a list of strings; empty means any address."""
    if isinstance(value, str):
        entries = [entry for entry in _NETWORK_SEPARATORS.split(value) if entry]
    elif isinstance(value, list | tuple) and all(isinstance(entry, str) for entry in value):
        entries = [entry.strip() for entry in value if entry.strip()]
    else:
        raise ServiceError(
            "allowed_networks must be a list of networks such as 192.0.2.0/24",
            field="allowed_networks",
        )
    networks = []
    for entry in entries:
        try:
            network = str(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ServiceError(
                f"{entry[:60]} is not an IP address or network (e.g. 192.0.2.0/24, 2001:db8::/32)",
                field="allowed_networks",
            ) from None
        if network not in networks:
            networks.append(network)
    if len(networks) > MAX_ALLOWED_NETWORKS:
        raise ServiceError(
            f"At most {MAX_ALLOWED_NETWORKS} allowed networks", field="allowed_networks"
        )
    return networks


def client_address(client_ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The client's address; an IPv4-mapped IPv6 address (::ffff:192.0.2.7) as IPv4."""
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def address_allowed(allowed_networks: list[str], client_ip: str) -> bool:
    """True when the list is empty (any address) or holds a network containing `client_ip`."""
    if not allowed_networks:
        return True
    address = client_address(client_ip)
    return address is not None and any(
        address in ipaddress.ip_network(network) for network in allowed_networks
    )

"""Input rules for SMTP users, shared by the services (and so by every surface)."""

import re

from portal.errors import NotFoundError, ServiceError

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

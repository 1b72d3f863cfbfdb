"""Input rules for quota alert settings."""

import ipaddress
import re
from urllib.parse import urlsplit

from django.conf import settings

from core.errors import ServiceError
from core.network import is_internal_address
from smtpusers.quota import WINDOWS

MAX_THRESHOLDS_PER_WINDOW = 5
WEBHOOK_URL_MAX_LENGTH = 500
_THRESHOLD_SEPARATORS = re.compile(r"[\s,;%]+")
# Names that always mean this machine or a private network.
_INTERNAL_HOST_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")


def parse_thresholds(value, *, window: str) -> list[int]:
    """Percentages of the limit (1-100), e.g. "80, 100" or [80, 100]; sorted, no duplicates.
    Empty: no alerts for this window."""
    field = f"{window}_thresholds"
    if isinstance(value, str):
        entries = [entry for entry in _THRESHOLD_SEPARATORS.split(value) if entry]
    elif isinstance(value, list | tuple):
        entries = list(value)
    else:
        raise ServiceError(f"{window} thresholds must be a list of percentages", field=field)
    percentages = set()
    for entry in entries:
        text = str(entry).strip() if not isinstance(entry, bool) else ""
        if not text.isdigit() or not 1 <= int(text) <= 100:
            raise ServiceError(
                f"{window} thresholds must be whole percentages from 1 to 100, e.g. 80, 100",
                field=field,
            )
        percentages.add(int(text))
    if len(percentages) > MAX_THRESHOLDS_PER_WINDOW:
        raise ServiceError(f"At most {MAX_THRESHOLDS_PER_WINDOW} {window} thresholds", field=field)
    return sorted(percentages)


def parse_quota_thresholds(values: dict) -> dict[str, list[int]]:
    """{window: text or list} for every window -> {window: [percentages]}."""
    return {window: parse_thresholds(values.get(window, ""), window=window) for window in WINDOWS}


def internal_targets_allowed() -> bool:
    return settings.ALERTS_WEBHOOK_ALLOW_INTERNAL_TARGETS


def parse_webhook_url(value) -> str:
    """An http(s) URL without credentials, or "" for no webhook.

    Unless ALERTS_WEBHOOK_ALLOW_INTERNAL_TARGETS, a URL naming this machine or a private
    network (localhost, *.local, *.internal, private or loopback IP literals) is refused: the
    portal's own network is no customer's endpoint. Names are resolved again at each delivery
    (alerts.delivery), which refuses internal addresses too.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ServiceError("The webhook URL must be text", field="webhook_url")
    url = value.strip()
    if not url:
        return ""
    error = ServiceError(
        "The webhook URL must be an http:// or https:// URL such as "
        "https://hooks.example.com/portal",
        field="webhook_url",
    )
    if len(url) > WEBHOOK_URL_MAX_LENGTH or any(char.isspace() for char in url):
        raise error
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise error from None
    if parts.scheme not in ("http", "https") or not host:
        raise error
    if parts.username is not None or parts.password is not None:
        raise ServiceError(
            "Leave credentials out of the webhook URL: the requests are signed instead",
            field="webhook_url",
        )
    if not internal_targets_allowed() and _names_internal_host(host):
        raise ServiceError(
            f"The webhook URL must point to a public host, not {host}", field="webhook_url"
        )
    return url


def _names_internal_host(host: str) -> bool:
    host = host.rstrip(".").lower()
    if host == "localhost" or host.endswith(_INTERNAL_HOST_SUFFIXES):
        return True
    try:
        return is_internal_address(ipaddress.ip_address(host))
    except ValueError:
        return False  # a name: checked again when it is resolved, at each delivery

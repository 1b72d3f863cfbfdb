"""The email settings (seed 004) part of the test kit: the seed's record, API calls, records
pointing at test SMTP servers."""

import copy
import json
from typing import Any
from urllib.parse import urlencode

from relaysettings import services

PREFIXES = ["/api/v2", "/engine/api/v2"]

# The request body of seed 004's "Create email settings" example.
SEED_RECORD = {
    "provider": "smtp",
    "description": "My Setting",
    "from": "my@webitel.com",
    "options": {
        "host": "m.webitel.com",
        "port": 465,
        "secure": True,
        "debug": False,
        "tls": {"rejectUnauthorized": False},
        "auth": {"user": "my@webitel.com", "pass": "itte574dsts485"},
    },
}
SEED_DOMAIN = "my.webitel.com"


# API.md §5's extras, answered beside the seed's fields.
EXTRAS = ("verification", "dkim", "dkim_next")


def seed_fields(body: dict) -> dict:
    """An answered record without the verification extras: the seed's fields only."""
    return {name: value for name, value in body.items() if name not in EXTRAS}


def seed_record(**changes) -> dict:
    """A deep copy of the seed's record; `options__port=25` style keys change nested fields."""
    record = copy.deepcopy(SEED_RECORD)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target: Any = record
        for parent in parents:
            target = target[parent]
        target[leaf] = value
    return record


def settings_url(prefix: str = "/api/v2", **query) -> str:
    return f"{prefix}/email/settings" + (f"?{urlencode(query)}" if query else "")


def send_test_url(to: str, prefix: str = "/api/v2", **query) -> str:
    return f"{prefix}/email/settings/test/{to}" + (f"?{urlencode(query)}" if query else "")


def call(client, method: str, url: str, *, headers=None, body=None, raw=None, content_type=None):
    """One API request; `body` is sent as JSON, `raw` as given."""
    data = raw if raw is not None else (json.dumps(body) if body is not None else "")
    return client.generic(
        method,
        url,
        data=data,
        content_type=content_type or "application/json",
        headers=headers or {},
    )


def create_setting(tenant, domain: str = SEED_DOMAIN, **changes):
    relay_setting, _ = services.save_relay_setting(
        tenant.owner, domain=domain, data=seed_record(**changes)
    )
    return relay_setting


def relay_record(
    host: str,
    port: int,
    *,
    from_address: str = "sender@example.com",
    description: str = "",
    secure: bool = False,
    reject_unauthorized: bool = False,
    auth: tuple[str, str] | None = None,
) -> dict:
    """A record as the email settings API takes it; `auth` is (user, password)."""
    options = {
        "host": host,
        "port": port,
        "secure": secure,
        "debug": False,
        "tls": {"rejectUnauthorized": reject_unauthorized},
    }
    if auth:
        options["auth"] = {"user": auth[0], "pass": auth[1]}
    return {
        "provider": "smtp",
        "description": description,
        "from": from_address,
        "options": options,
    }


def smtp_settings_for(server, **options) -> dict:
    """A record pointing at a test server (testing.smtp); options as relay_record's."""
    return relay_record(server.host, server.port, **options)

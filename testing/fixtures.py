"""The fixtures of the test kit, registered for every test by the root conftest.py."""

from testing.dns import (
    _dkim_key_pool,
    _no_outside_dns,
    _reused_dkim_keys,
    dns_zone,
    domain_verification,
)
from testing.rebinding import fake_dns
from testing.smtp import smtp_server, tls_certificate
from testing.submission import client_tls, fast_queue, start_server, tls_files, upstream
from testing.tenants import (
    _fast_password_hashing,
    _fresh_cache,
    alice,
    alice_client,
    bob,
    bob_client,
    superuser,
    superuser_client,
    support_client,
    support_member,
    token_clock,
)
from testing.webhooks import fast_alerts, webhook_receiver

__all__ = [
    "_dkim_key_pool",
    "_fast_password_hashing",
    "_fresh_cache",
    "_no_outside_dns",
    "_reused_dkim_keys",
    "alice",
    "alice_client",
    "bob",
    "bob_client",
    "client_tls",
    "dns_zone",
    "domain_verification",
    "fake_dns",
    "fast_alerts",
    "fast_queue",
    "smtp_server",
    "start_server",
    "superuser",
    "superuser_client",
    "support_client",
    "support_member",
    "tls_certificate",
    "tls_files",
    "token_clock",
    "upstream",
    "webhook_receiver",
]

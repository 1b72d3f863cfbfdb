import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Owner


def new_public_id() -> str:
    """The record's public `_id`: 24 hex digits, like the seed's."""
    return secrets.token_hex(12)


def new_verification_token() -> str:
    """What the owner publishes in DNS to prove the domain: unguessable, DNS-safe."""
    return secrets.token_hex(16)


class DnsStatus(models.TextChoices):
    """Where a record the portal asked for stands in DNS (API.md §5's status values)."""

    PENDING = "pending", "Pending"
    VERIFIED = "verified", "Verified"
    FAILED = "failed", "Failed"


class RelaySetting(models.Model):
    """An owner's outgoing SMTP settings for one domain (seed 004's "email settings")."""

    PROVIDER_SMTP = "smtp"

    public_id = models.CharField(max_length=24, unique=True, default=new_public_id, editable=False)
    owner = models.ForeignKey(Owner, on_delete=models.CASCADE, related_name="relay_settings")
    # Lowercase, IDNA-encoded (ASCII) host name.
    domain = models.CharField(max_length=253)
    provider = models.CharField(max_length=16, default=PROVIDER_SMTP)
    description = models.CharField(max_length=500, blank=True, default="")
    from_address = models.CharField(max_length=254)
    host = models.CharField(max_length=253)
    port = models.IntegerField()
    # Implicit TLS from the first byte (e.g. port 465); otherwise STARTTLS when offered.
    secure = models.BooleanField(default=False)
    debug = models.BooleanField(default=False)
    tls_reject_unauthorized = models.BooleanField(default=True)
    # Empty: an unauthenticated relay.
    auth_user = models.CharField(max_length=254, blank=True, default="")
    # Fernet ciphertext (core.crypto); empty when there is no auth.
    auth_password_encrypted = models.TextField(blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Ownership proof: TXT _smtprelay.<domain> = smtprelay-verification=<token>.
    verification_token = models.CharField(
        max_length=32, default=new_verification_token, editable=False
    )
    verification_status = models.CharField(
        max_length=16, choices=DnsStatus.choices, default=DnsStatus.PENDING
    )
    # Why the last check failed (or could not decide), in words for the owner.
    verification_detail = models.TextField(blank=True, default="")
    verification_checked_at = models.DateTimeField(null=True, blank=True)
    # When `manage.py verifydomains` checks again; null: only on demand.
    verification_due_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    # The DNS zone holding the domain's records (found at the last check): record names are
    # shown relative to it, as DNS hosts ask for them.
    dns_zone = models.CharField(max_length=253, blank=True, default="")
    # The last check's finding for each record (ownership, DKIM, SPF, DMARC), for the
    # Domains page.
    dns_findings = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["domain", "id"]
        indexes = [
            models.Index(fields=["verification_due_at"], name="relaysetting_verification_due"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["owner", "domain"], name="relaysetting_owner_domain"),
            # A verified domain belongs to one owner.
            models.UniqueConstraint(
                fields=["domain"],
                condition=Q(verification_status=DnsStatus.VERIFIED),
                name="relaysetting_one_verified_owner",
            ),
            models.CheckConstraint(
                condition=Q(port__gte=1) & Q(port__lte=65535), name="relaysetting_port_range"
            ),
        ]

    def __str__(self):
        return self.domain


class DkimKey(models.Model):
    """A DKIM signing key of a domain. One is active (signs); during a rotation its successor
    is published beside it (next) and the replaced one stays published a while (retiring)."""

    class State(models.TextChoices):
        NEXT = "next", "Next (publish it; used once seen in DNS)"
        ACTIVE = "active", "Active (signs)"
        RETIRING = "retiring", "Retiring (keep published until its retire date)"

    relay_setting = models.ForeignKey(
        RelaySetting, on_delete=models.CASCADE, related_name="dkim_keys"
    )
    selector = models.CharField(max_length=63)
    # PEM (PKCS#1), Fernet-encrypted (core.crypto).
    private_key_encrypted = models.TextField(editable=False)
    # Base64 DER SubjectPublicKeyInfo: the p= of the TXT record.
    public_key = models.TextField()
    state = models.CharField(max_length=16, choices=State.choices)
    dns_status = models.CharField(
        max_length=16, choices=DnsStatus.choices, default=DnsStatus.PENDING
    )
    dns_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # For a retiring key: when it is removed (and its record may go).
    retire_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["relay_setting", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["relay_setting", "selector"], name="dkimkey_selector_per_domain"
            ),
            models.UniqueConstraint(
                fields=["relay_setting"],
                condition=Q(state="active"),
                name="dkimkey_one_active_per_domain",
            ),
            models.UniqueConstraint(
                fields=["relay_setting"],
                condition=Q(state="next"),
                name="dkimkey_one_next_per_domain",
            ),
        ]

    def __str__(self):
        return f"{self.selector} ({self.state})"

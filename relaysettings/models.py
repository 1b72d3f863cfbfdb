import secrets

from django.db import models
from django.db.models import Q

from accounts.models import Owner


def new_public_id() -> str:
    """The record's public `_id`: 24 hex digits, like the seed's."""
    return secrets.token_hex(12)


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

    class Meta:
        ordering = ["domain", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "domain"], name="relaysetting_owner_domain"),
            models.CheckConstraint(
                condition=Q(port__gte=1) & Q(port__lte=65535), name="relaysetting_port_range"
            ),
        ]

    def __str__(self):
        return self.domain

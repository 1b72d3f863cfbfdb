from django.db import models


class AuditEvent(models.Model):
    """One change made to an owner's data: who, when, from where, what. Never a secret."""

    # By label: accounts records its own events through audit.services, so audit imports
    # nothing of accounts (docs/architecture.md).
    owner = models.ForeignKey(
        "accounts.Owner",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="audit_events",
    )
    action = models.CharField(max_length=64)
    # What was changed, e.g. "SMTP user smtp12345678".
    target = models.CharField(max_length=300)
    # field -> [old, new]; secrets are never recorded, only that they changed.
    changes = models.JSONField(default=dict, blank=True)
    actor = models.CharField(max_length=300, help_text="Login, staff member or API token prefix.")
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="audit_owner_created")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.target}"

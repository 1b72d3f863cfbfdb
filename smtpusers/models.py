from django.db import models
from django.db.models import Q

from accounts.models import Owner
from smtpusers.validators import STATUS_DISABLE, STATUS_ENABLE


def status_name(is_enabled: bool) -> str:
    """How the API and the dashboard name a status."""
    return STATUS_ENABLE if is_enabled else STATUS_DISABLE


class SmtpUser(models.Model):
    """An SMTP credential of an owner, with its sending limits and usage counters."""

    owner = models.ForeignKey(Owner, on_delete=models.CASCADE, related_name="smtp_users")
    # The SMTP login: unique across all owners.
    smtp_user_name = models.CharField(max_length=32, unique=True, editable=False)
    # Fernet ciphertext (see core.crypto); the password must be shown again by listSmtp.
    password_encrypted = models.TextField(editable=False)
    total_limit = models.IntegerField()
    hourly_limit = models.IntegerField()
    # None: no daily limit (the UTC calendar day is its window).
    daily_limit = models.IntegerField(null=True, blank=True)
    is_enabled = models.BooleanField(default=True)
    # Usage: messages accepted in total, and in the clock hour that starts at hour_started_at.
    total_used = models.IntegerField(default=0)
    hour_started_at = models.DateTimeField(null=True, blank=True)
    hour_used = models.IntegerField(default=0)
    # Messages accepted in the UTC day that starts at day_started_at (counted with or without
    # a daily limit).
    day_started_at = models.DateTimeField(null=True, blank=True)
    day_used = models.IntegerField(default=0)
    # The last accepted message: written by the same UPDATE that counts it.
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField("last used IP", null=True, blank=True)
    # The last time a message was refused for a limit or the status, in the words the SMTP
    # client was given.
    last_refusal = models.CharField(max_length=300, blank=True, default="")
    last_refusal_at = models.DateTimeField(null=True, blank=True)
    # Networks (normalised CIDR strings, IPv4 or IPv6) that may log in; empty: any address.
    allowed_networks = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "SMTP user"
        verbose_name_plural = "SMTP users"
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["owner", "created_at", "id"], name="smtpuser_owner_created")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_limit__gt=0), name="smtpuser_total_limit_positive"
            ),
            models.CheckConstraint(
                condition=Q(hourly_limit__gt=0), name="smtpuser_hourly_limit_positive"
            ),
            models.CheckConstraint(
                condition=Q(daily_limit__isnull=True) | Q(daily_limit__gt=0),
                name="smtpuser_daily_limit_positive_or_none",
            ),
            models.CheckConstraint(
                condition=Q(total_used__gte=0), name="smtpuser_total_used_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(day_used__gte=0), name="smtpuser_day_used_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(hour_used__gte=0), name="smtpuser_hour_used_not_negative"
            ),
        ]

    def __str__(self):
        return self.smtp_user_name

    @property
    def status(self) -> str:
        return status_name(self.is_enabled)


class SmtpUsageHour(models.Model):
    """Messages an SMTP user sent in one clock hour (UTC): the data of the usage chart."""

    smtp_user = models.ForeignKey(SmtpUser, on_delete=models.CASCADE, related_name="usage_hours")
    hour = models.DateTimeField()
    count = models.IntegerField(default=0)

    class Meta:
        verbose_name = "SMTP usage hour"
        ordering = ["hour", "id"]
        constraints = [
            models.UniqueConstraint(fields=["smtp_user", "hour"], name="smtpusagehour_user_hour"),
        ]

    def __str__(self):
        return f"{self.smtp_user_id} {self.hour:%Y-%m-%d %H:00}: {self.count}"

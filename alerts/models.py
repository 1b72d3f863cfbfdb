from datetime import UTC, datetime

from django.db import models
from django.db.models import Q

from accounts.models import Owner
from smtpusers.models import SmtpUser

WINDOW_CHOICES = [("hourly", "Hourly"), ("daily", "Daily"), ("total", "Total")]
# The total window never starts again: its alerts all share this start (and are told apart
# by the limit, so raising the total limit arms them again).
TOTAL_WINDOW_START = datetime(1970, 1, 1, tzinfo=UTC)


def default_quota_thresholds() -> dict[str, list[int]]:
    return {"hourly": [80, 100], "daily": [80, 100], "total": [80, 100]}


class AlertSettings(models.Model):
    """An owner's quota alert settings; an owner without a row has the defaults."""

    owner = models.OneToOneField(Owner, on_delete=models.CASCADE, related_name="alert_settings")
    # window -> sorted percentages of the limit, e.g. {"hourly": [80, 100], ...}.
    quota_thresholds = models.JSONField(default=default_quota_thresholds)
    email_enabled = models.BooleanField(default=True)
    webhook_url = models.CharField(max_length=500, blank=True, default="")
    # Fernet ciphertext (core.crypto) of the HMAC key the webhook POSTs are signed with.
    webhook_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "alert settings"

    def __str__(self):
        return f"Alert settings of {self.owner.name}"


class QuotaAlert(models.Model):
    """One crossing of one alert threshold in one window of an SMTP user (or a test alert).

    The unique constraint is what makes an alert fire once: every message that crosses a
    threshold inserts its row with ON CONFLICT DO NOTHING, and only an inserted row is sent.
    """

    owner = models.ForeignKey(Owner, on_delete=models.CASCADE, related_name="quota_alerts")
    smtp_user = models.ForeignKey(
        SmtpUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="quota_alerts"
    )
    smtp_user_name = models.CharField(max_length=32)
    window = models.CharField(max_length=8, choices=WINDOW_CHOICES)
    window_start = models.DateTimeField()
    quota_limit = models.IntegerField()
    threshold = models.IntegerField(help_text="Percent of the limit.")
    used = models.IntegerField()
    resets_at = models.DateTimeField(null=True, blank=True)
    is_test = models.BooleanField(default=False)
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["smtp_user", "window", "window_start", "quota_limit", "threshold"],
                name="quotaalert_once_per_crossing",
            ),
            models.CheckConstraint(
                condition=Q(threshold__gte=1, threshold__lte=100),
                name="quotaalert_threshold_percent",
            ),
        ]

    def __str__(self):
        return f"{self.smtp_user_name} {self.window} {self.threshold}%"


class AlertDelivery(models.Model):
    """Sending one alert over one channel: a queue row for the alert worker, and its log."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    owner = models.ForeignKey(Owner, on_delete=models.CASCADE, related_name="alert_deliveries")
    alert = models.ForeignKey(QuotaAlert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.IntegerField(default=0)
    # When a pending delivery is due; while sending, when the claim lapses.
    next_attempt_at = models.DateTimeField()
    # Where the last attempt went: the email addresses, or the webhook URL.
    target = models.CharField(max_length=1000, blank=True, default="")
    response_code = models.IntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "alert deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="alertdelivery_due"),
            models.Index(fields=["owner", "-created_at", "-id"], name="alertdelivery_owner_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(attempts__gte=0), name="alertdelivery_attempts_not_negative"
            ),
        ]

    def __str__(self):
        return f"{self.alert} by {self.channel} ({self.status})"

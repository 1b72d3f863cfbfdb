from django.db import models
from django.utils import timezone

from accounts.models import Owner
from relaysettings.models import RelaySetting
from smtpusers.models import SmtpUser


class QueuedMessage(models.Model):
    """A message accepted by the SMTP server, kept until it is relayed upstream (or given up)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"

    owner = models.ForeignKey(Owner, on_delete=models.CASCADE, related_name="queued_messages")
    # Kept (as null) when the SMTP user or the settings go: accepted mail is still accounted for.
    smtp_user = models.ForeignKey(
        SmtpUser, null=True, on_delete=models.SET_NULL, related_name="queued_messages"
    )
    relay_setting = models.ForeignKey(
        RelaySetting, null=True, on_delete=models.SET_NULL, related_name="queued_messages"
    )
    mail_from = models.CharField(max_length=320)
    rcpt_to = models.JSONField(default=list)
    data = models.BinaryField()
    size = models.IntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.IntegerField(default=0)
    # When a queued message is due; while sending, when the claim lapses (a crashed worker).
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="queuedmessage_due"),
            models.Index(fields=["owner", "-created_at", "-id"], name="queuedmessage_owner_recent"),
            # Claiming (core.workers.WorkQueue) reads the waiting messages in due order, overall
            # and per owner, without sorting a backlog.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(status__in=["queued", "sending"]),
                name="queuedmessage_waiting",
            ),
            models.Index(
                fields=["owner", "next_attempt_at", "id"],
                condition=models.Q(status__in=["queued", "sending"]),
                name="queuedmessage_owner_waiting",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(attempts__gte=0), name="queuedmessage_attempts_not_negative"
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.mail_from} ({self.status})"

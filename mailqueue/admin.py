from django.contrib import admin

from core.admin import ReadOnlyAdmin
from mailqueue.models import QueuedMessage


@admin.register(QueuedMessage)
class QueuedMessageAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Read-only: staff see what was queued and what became of it; the queue changes only
    through the delivery workers. The message content is not shown."""

    list_display = [
        "id",
        "created_at",
        "owner",
        "smtp_user",
        "mail_from",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status"]
    list_select_related = ["owner", "smtp_user"]
    search_fields = ["mail_from", "smtp_user__smtp_user_name", "owner__name", "owner__owner_id"]
    date_hierarchy = "created_at"
    fields = [
        "owner",
        "smtp_user",
        "relay_setting",
        "mail_from",
        "rcpt_to",
        "size",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "delivered_at",
    ]

"""Read-only admin for quota alerts: staff see settings (never the secret) and deliveries;
changes go through the customer's Alerts page (alerts.services)."""

from django.contrib import admin

from alerts.models import AlertDelivery, AlertSettings
from core.admin import OwnerFilter, ReadOnlyAdmin


@admin.register(AlertSettings)
class AlertSettingsAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("owner", "email_enabled", "webhook_url", "quota_thresholds", "updated_at")
    list_select_related = ("owner",)
    search_fields = ("owner__name", "=owner__owner_id", "webhook_url")
    # The webhook secret (even encrypted) is never shown.
    fields = ("owner", "quota_thresholds", "email_enabled", "webhook_url", "updated_at")


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "owner",
        "alert",
        "channel",
        "status",
        "attempts",
        "response_code",
        "last_error",
    )
    list_filter = ("status", "channel", OwnerFilter)
    list_select_related = ("owner", "alert")
    search_fields = ("alert__smtp_user_name", "owner__name", "=owner__owner_id")
    fields = (
        "owner",
        "alert",
        "channel",
        "status",
        "attempts",
        "next_attempt_at",
        "target",
        "response_code",
        "last_error",
        "created_at",
        "delivered_at",
    )

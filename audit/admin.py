from django.contrib import admin

from audit.models import AuditEvent
from core.admin import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Read-only: the audit log is written by the services alone."""

    list_display = ["created_at", "owner", "action", "target", "actor", "source_ip"]
    list_filter = ["action", "created_at"]
    list_select_related = ["owner"]
    search_fields = ["target", "actor", "owner__name", "owner__owner_id", "source_ip"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

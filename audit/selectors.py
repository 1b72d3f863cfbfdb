from typing import TYPE_CHECKING

from django.db.models import QuerySet

from audit.models import AuditEvent
from core.tenancy import owned_by

if TYPE_CHECKING:
    from accounts.models import Owner


def audit_events_for(owner: "Owner", *, action_prefix: str | None = None) -> QuerySet[AuditEvent]:
    events = owned_by(owner, AuditEvent).order_by("-created_at", "-id")
    if action_prefix:
        events = events.filter(action__startswith=action_prefix)
    return events

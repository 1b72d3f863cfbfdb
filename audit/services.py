"""Recording audit events. Called by the services of every app, inside their transaction."""

from collections.abc import Mapping
from typing import TYPE_CHECKING

from audit.models import AuditEvent
from core.actors import current_actor

if TYPE_CHECKING:
    from accounts.models import Owner


def record_event(
    owner: "Owner", *, action: str, target: str, changes: Mapping[str, object] | None = None
) -> AuditEvent:
    actor = current_actor()
    return AuditEvent.objects.create(
        owner=owner,
        action=action,
        target=target,
        changes=changes or {},
        actor=actor.label,
        source_ip=actor.source_ip,
    )

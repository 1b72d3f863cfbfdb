"""Reads of quota alert settings and deliveries, scoped to one owner."""

from django.db.models import QuerySet

from accounts.models import Owner
from alerts.models import AlertDelivery, AlertSettings
from core.tenancy import owned_by


def owner_thresholds_sql(owner_id_column: str) -> str:
    """A scalar subquery for the alert thresholds of the owner in `owner_id_column` (NULL
    when the owner has no settings row): lets the quota UPDATE return them in its own round
    trip (alerts' quota hook, see alerts.apps)."""
    table = AlertSettings._meta.db_table
    return f"(SELECT quota_thresholds FROM {table} WHERE {table}.owner_id = {owner_id_column})"  # noqa: S608


def alert_settings_for(owner: Owner | int) -> AlertSettings:
    """The owner's settings, or unsaved defaults when it never changed them."""
    found = owned_by(owner, AlertSettings).first()
    return found or AlertSettings(owner_id=owner if isinstance(owner, int) else owner.pk)


def alert_deliveries_for(owner: Owner) -> QuerySet[AlertDelivery]:
    """The owner's alert deliveries with their alerts, newest first."""
    return owned_by(owner, AlertDelivery).select_related("alert").order_by("-created_at", "-id")

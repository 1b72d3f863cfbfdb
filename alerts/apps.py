from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Quota alerts"

    def ready(self):
        # Alerts act inside smtpusers' counting transaction without smtpusers knowing them:
        # the counting UPDATE returns the owner's thresholds, then raise_quota_alerts runs.
        from alerts.selectors import owner_thresholds_sql
        from alerts.services import QUOTA_HOOK_NAME, raise_quota_alerts
        from smtpusers.quota import QuotaHook, register_quota_hook

        register_quota_hook(
            QuotaHook(
                name=QUOTA_HOOK_NAME,
                on_counted=raise_quota_alerts,
                returning=owner_thresholds_sql,
            )
        )

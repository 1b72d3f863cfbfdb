from alerts.tests.support import fast_alerts, webhook_receiver  # noqa: F401

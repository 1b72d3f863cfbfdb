from alerts.tests.support import webhook_receiver  # noqa: F401

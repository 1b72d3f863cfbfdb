"""Deploy checks (`manage.py check --deploy`) for settings whose development default quietly
weakens a production portal."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

# Caches that every process keeps for itself.
_PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}
# Email backends that never hand a message to a mail server.
_UNDELIVERED_EMAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
}


@register(Tags.caches, Tags.security, deploy=True)
def check_shared_cache(app_configs=None, **kwargs) -> list[Warning]:
    if settings.CACHES["default"]["BACKEND"] not in _PER_PROCESS_CACHES:
        return []
    return [
        Warning(
            "REDIS_URL is not set: the API authentication and SMTP AUTH failure throttles count "
            "in each process's own memory, so every gunicorn worker and the SMTP server allow "
            "their own limit of failures.",
            hint="Set REDIS_URL (e.g. redis://127.0.0.1:6379/0) so that all processes share "
            "one count.",
            id="accounts.W001",
        )
    ]


@register(Tags.security, deploy=True)
def check_email_delivery(app_configs=None, **kwargs) -> list[Warning]:
    if settings.EMAIL_BACKEND not in _UNDELIVERED_EMAIL_BACKENDS:
        return []
    return [
        Warning(
            f"EMAIL_URL sends the portal's email nowhere ({settings.EMAIL_BACKEND}): "
            "password-reset mails, with their links, end up in the log or a file and users "
            "never get them; email alerts are lost.",
            hint="Set EMAIL_URL to a mail server, e.g. smtp+tls://user:pass@smtp.example.com:587.",
            id="accounts.W002",
        )
    ]

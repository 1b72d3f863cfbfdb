"""Deploy checks: a production portal without a shared cache or a mail server is warned about."""

from django.core.checks import run_checks

REDIS_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/0",
    }
}
LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def deploy_warnings() -> list[str]:
    return [
        message.id
        for message in run_checks(include_deployment_checks=True)
        if message.id.startswith("accounts.")
    ]


def test_it_warns_when_throttles_count_per_process(settings):
    settings.CACHES = LOCAL_CACHE
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"

    assert deploy_warnings() == ["accounts.W001"]


def test_it_warns_when_password_reset_mails_go_to_the_console(settings):
    settings.CACHES = REDIS_CACHE
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

    assert deploy_warnings() == ["accounts.W002"]


def test_it_is_quiet_with_redis_and_a_mail_server(settings):
    settings.CACHES = REDIS_CACHE
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"

    assert deploy_warnings() == []
    assert [
        message.id for message in run_checks() if message.id.startswith("accounts.")
    ] == []  # deploy checks only

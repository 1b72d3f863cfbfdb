"""Deploy check (`manage.py check --deploy`): a production relay must refuse unverified domains."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def check_domain_verification(app_configs=None, **kwargs) -> list[Warning]:
    if settings.DOMAIN_VERIFICATION:
        return []
    return [
        Warning(
            "DOMAIN_VERIFICATION is off: any owner may send as any domain it stores relay "
            "settings for, unsigned, and the relay's addresses end up on blocklists.",
            hint="Leave DOMAIN_VERIFICATION unset (on) outside local development.",
            id="relaysettings.W001",
        )
    ]

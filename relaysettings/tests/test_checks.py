"""Deploy check: a production portal that lets unverified domains send is warned about."""

from django.core.checks import run_checks


def relay_warnings() -> list[str]:
    return [
        message.id
        for message in run_checks(include_deployment_checks=True)
        if message.id.startswith("relaysettings.")
    ]


def test_it_warns_when_unverified_domains_may_send(settings):
    settings.DOMAIN_VERIFICATION = False

    assert relay_warnings() == ["relaysettings.W001"]


def test_it_is_quiet_while_domains_must_be_verified(settings):
    settings.DOMAIN_VERIFICATION = True

    assert relay_warnings() == []

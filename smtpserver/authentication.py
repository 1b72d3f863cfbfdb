"""SMTP AUTH: checking an SMTP user's login, password and allowed networks, throttling
failures per address.

A fixed window per client address in the shared cache: after SMTP_AUTH_FAILURE_LIMIT failed
logins within SMTP_AUTH_FAILURE_WINDOW_SECONDS (counted from the first), every further AUTH
from that address is refused until the window has passed.
"""

import hmac

from django.conf import settings
from django.core.cache import cache

from core.actors import Actor, acting_as
from core.errors import ServiceError
from smtpusers.models import SmtpUser
from smtpusers.quota import Refusal, sending_refusal
from smtpusers.selectors import smtp_password_of
from smtpusers.services import record_login_refused_for_address
from smtpusers.validators import address_allowed, could_be_smtp_user_name

# Compared against when the login is unknown, so that answering takes the same work.
_NO_PASSWORD = "x" * 20
# Over a limit, a user may still log in (and is told at MAIL); these refusals stop the login.
NOT_ALLOWED_TO_LOG_IN = {Refusal.DISABLED, Refusal.OWNER_INACTIVE}


class LoginFailed(ServiceError):
    """Wrong credentials, or the SMTP user may not log in (disabled, inactive account)."""


class LoginThrottled(ServiceError):
    """Too many failed logins from this address."""


def _failure_key(client_ip: str) -> str:
    return f"smtp-auth-fail:ip:{client_ip}"


def _record_failure(client_ip: str) -> None:
    key = _failure_key(client_ip)
    cache.add(key, 0, timeout=settings.SMTP_AUTH_FAILURE_WINDOW_SECONDS)
    try:
        cache.incr(key)
    except ValueError:
        # The window expired between add and incr: this failure opens a new one.
        cache.add(key, 1, timeout=settings.SMTP_AUTH_FAILURE_WINDOW_SECONDS)


def authenticate_smtp_login(login: bytes, password: bytes, *, client_ip: str, now) -> SmtpUser:
    """The SMTP user whose smtp_user_name and password these are, allowed to send.

    Raises LoginThrottled, or LoginFailed with the text to show. A disabled user, an inactive
    account or an address outside the user's allowed networks is named only to a client that
    knew the password; the last also counts as a failure and is written to the audit log.
    """
    if cache.get(_failure_key(client_ip), 0) >= settings.SMTP_AUTH_FAILURE_LIMIT:
        raise LoginThrottled("Too many failed logins from your address; try again later")
    try:
        name, given = login.decode(), password.decode()
    except UnicodeDecodeError:
        name, given = "", ""
    smtp_user = (
        SmtpUser.objects.select_related("owner").filter(smtp_user_name=name).first()
        if could_be_smtp_user_name(name)
        else None
    )
    stored = smtp_password_of(smtp_user) if smtp_user else _NO_PASSWORD
    if not hmac.compare_digest(given.encode(), stored.encode()) or smtp_user is None:
        _record_failure(client_ip)
        raise LoginFailed("Authentication credentials invalid")
    if not address_allowed(smtp_user.allowed_networks, client_ip):
        _record_failure(client_ip)
        with acting_as(Actor(label=f"smtp {client_ip}", source_ip=client_ip)):
            record_login_refused_for_address(smtp_user, client_ip=client_ip)
        raise LoginFailed(
            f"SMTP user {smtp_user.smtp_user_name} may not log in from {client_ip}"
        )
    refusal = sending_refusal(smtp_user, now=now)
    if refusal is not None and refusal.reason in NOT_ALLOWED_TO_LOG_IN:
        raise LoginFailed(refusal.message)
    return smtp_user

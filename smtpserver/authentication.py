"""SMTP AUTH: checking an SMTP user's login, password and allowed networks, throttling
failures per address.

A fixed window per client address in the shared cache: after SMTP_AUTH_FAILURE_LIMIT failed
logins within SMTP_AUTH_FAILURE_WINDOW_SECONDS (counted from the first), every further AUTH
from that address is refused until the window has passed. Every attempt is counted first
(one atomic increment) and its password checked only under the limit; a successful login
gives its count back.
"""

import contextlib
import hmac

from django.conf import settings
from django.core.cache import cache

from core.actors import Actor, acting_as
from core.errors import ServiceError
from smtpusers.models import SmtpUser
from smtpusers.quota import Refusal, sending_refusal
from smtpusers.selectors import login_allowed_from, smtp_password_of, smtp_user_for_login
from smtpusers.services import record_login_refused_for_address

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


def _count_attempt(client_ip: str) -> int:
    """Count a login attempt from `client_ip` in its window, atomically; the count with it.

    Counted before the password is checked, so that parallel attempts cannot all pass a
    limit that none of them has yet reached (read, then write, let 16 of 40 through).
    """
    key = _failure_key(client_ip)
    cache.add(key, 0, timeout=settings.SMTP_AUTH_FAILURE_WINDOW_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:
        # The window expired between add and incr: this attempt opens a new one.
        cache.add(key, 1, timeout=settings.SMTP_AUTH_FAILURE_WINDOW_SECONDS)
        return 1


def _uncount_attempt(client_ip: str) -> None:
    """A login that was no failure (the right password, from an allowed address) gives its
    count back."""
    # ValueError: the window expired meanwhile, and there is nothing to give back.
    with contextlib.suppress(ValueError):
        cache.decr(_failure_key(client_ip))


def authenticate_smtp_login(login: bytes, password: bytes, *, client_ip: str, now) -> SmtpUser:
    """The SMTP user whose smtp_user_name and password these are, allowed to send.

    Raises LoginThrottled, or LoginFailed with the text to show. A disabled user, an inactive
    account or an address outside the user's allowed networks is named only to a client that
    knew the password; the last also counts as a failure and is written to the audit log.
    """
    if _count_attempt(client_ip) > settings.SMTP_AUTH_FAILURE_LIMIT:
        raise LoginThrottled("Too many failed logins from your address; try again later")
    try:
        name, given = login.decode(), password.decode()
    except UnicodeDecodeError:
        name, given = "", ""
    smtp_user = smtp_user_for_login(name)
    stored = smtp_password_of(smtp_user) if smtp_user else _NO_PASSWORD
    if not hmac.compare_digest(given.encode(), stored.encode()) or smtp_user is None:
        raise LoginFailed("Authentication credentials invalid")
    if not login_allowed_from(smtp_user, client_ip):
        with acting_as(Actor(label=f"smtp {client_ip}", source_ip=client_ip)):
            record_login_refused_for_address(smtp_user, client_ip=client_ip)
        raise LoginFailed(f"SMTP user {smtp_user.smtp_user_name} may not log in from {client_ip}")
    _uncount_attempt(client_ip)
    refusal = sending_refusal(smtp_user, now=now)
    if refusal is not None and refusal.reason in NOT_ALLOWED_TO_LOG_IN:
        raise LoginFailed(refusal.message)
    return smtp_user

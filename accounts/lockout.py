"""Sign-in lockout (django-axes): per login and address, and per address across logins."""

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum


def lockout_username(request, credentials) -> str:
    """The email django-axes counts failed sign-ins against, in one letter case."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    return username.strip().lower()


class LoginLockoutHandler(AxesDatabaseHandler):
    """Two limits where axes has one: AXES_FAILURE_LIMIT failures of one login from one address
    (guessing a password), and LOGIN_ADDRESS_FAILURE_LIMIT failures of any logins from one
    address (password spraying: a few common passwords tried once on many logins).

    axes counts both (AXES_LOCKOUT_PARAMETERS) but compares every count with its one limit,
    which would lock a whole office behind one address after 5 typos."""

    def failure_counts(self, request, credentials=None) -> tuple[int, int]:
        """(failures of this login from this address, failures of any login from it)."""
        # In the order of AXES_LOCKOUT_PARAMETERS: [["username", "ip_address"], "ip_address"].
        per_login, per_address = (
            attempts.aggregate(failures=Sum("failures_since_start"))["failures"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        return per_login, per_address

    def address_locked_out(self, request, credentials=None) -> bool:
        return self.failure_counts(request, credentials)[1] >= settings.LOGIN_ADDRESS_FAILURE_LIMIT

    def get_failures(self, request, credentials=None) -> int:
        per_login, per_address = self.failure_counts(request, credentials)
        if per_address >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            # axes locks when this count reaches AXES_FAILURE_LIMIT.
            return max(per_login, settings.AXES_FAILURE_LIMIT)
        return per_login

    def reset_user_attempts(self, request, credentials=None) -> int:
        """After a successful sign-in, forget only that login's failures from the address: an
        attacker signing in to an account of their own must not wipe the address's count."""
        per_login_attempts = self.filter_user_attempts(request, credentials)[0]
        count, _ = per_login_attempts.delete()
        return count

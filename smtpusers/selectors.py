"""Reads of SMTP users, always scoped to one owner."""

from django.db.models import QuerySet

from accounts.models import Owner
from accounts.tenancy import get_owned, owned_by
from portal.crypto import decrypt
from smtpusers.models import SmtpUser


def smtp_users_for(owner: Owner) -> QuerySet[SmtpUser]:
    """The owner's SMTP users, oldest first."""
    return owned_by(owner, SmtpUser).order_by("created_at", "id")


def smtp_user_for(owner: Owner, smtp_user_name: str) -> SmtpUser:
    return get_owned(
        owner,
        SmtpUser,
        not_found=f"SMTP user {smtp_user_name} not found",
        smtp_user_name=smtp_user_name,
    )


def smtp_password_of(smtp_user: SmtpUser) -> str:
    return decrypt(smtp_user.password_encrypted)

"""Input rules for owners and staff logins, shared by the services (and so by every surface)."""

from typing import cast

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from accounts.models import Owner, User
from core.errors import ServiceError

OWNER_NAME_MAX_LENGTH = cast(int, Owner._meta.get_field("name").max_length)


def parse_name(value, *, label: str, max_length: int) -> str:
    """A required one-line name ("Owner name", "Token name"), trimmed."""
    if not isinstance(value, str) or not value.strip():
        raise ServiceError(f"{label} is required", field="name")
    name = value.strip()
    if len(name) > max_length:
        raise ServiceError(f"{label} must be at most {max_length} characters", field="name")
    return name


def parse_owner_name(value) -> str:
    return parse_name(value, label="Owner name", max_length=OWNER_NAME_MAX_LENGTH)


def parse_login_email(value) -> str:
    """A login email in the stored form: the whole address lowercased."""
    if not isinstance(value, str) or not value.strip():
        raise ServiceError("An email address is required", field="email")
    email = User.objects.normalize_email(value.strip()).lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError(f"{email} is not a valid email address", field="email") from None
    return email


def check_new_password(password, *, user: User) -> None:
    """The project's password rules (AUTH_PASSWORD_VALIDATORS) for a new login password."""
    if not isinstance(password, str) or not password:
        raise ServiceError("A password is required", field="password")
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as error:
        raise ServiceError(" ".join(error.messages), field="password") from None

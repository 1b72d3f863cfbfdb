"""Input rules for domain email settings, shared by the services (and so by every surface).

Types are strict, as the record is JSON: `port` is a JSON integer, the flags are JSON booleans.
A `null` optional field counts as left out. Fields the record does not know are ignored, so a
GET answer (with `_id` and `domain`) can be sent back as it is.
"""

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import idna
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from core.errors import InvalidFieldsError, ServiceError
from core.text import is_storable_text
from relaysettings.models import RelaySetting

MAX_HOST_NAME_LENGTH = 253
MAX_ADDRESS_LENGTH = 254
MAX_DESCRIPTION_LENGTH = RelaySetting._meta.get_field("description").max_length
MAX_AUTH_USER_LENGTH = RelaySetting._meta.get_field("auth_user").max_length
MAX_PASSWORD_LENGTH = 1024
# Anything longer cannot become a host name even after IDNA mapping; refuse it before mapping.
_MAX_RAW_NAME_LENGTH = 4 * MAX_HOST_NAME_LENGTH
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_DIGITS = re.compile(r"[0-9]+")
_validate_email = EmailValidator()


class DomainRequiredError(ServiceError):
    """No domain given: the API answers this one apart from other bad parameters."""


# Remembered: the IDNA mapping costs ~40 µs a name, the API's GET maps the domain of every call
# and the SMTP server the sender's domain of every message; the same few names come again.
@lru_cache(maxsize=4096)
def _host_name(value: str) -> str | None:
    """`value` as a lowercase IDNA (ASCII) host name, or None if it is not one.

    One trailing dot (a fully qualified name) is dropped; the last label may not be all digits,
    so that a mistyped IP address is not taken for a name.
    """
    candidate = value.strip().removesuffix(".")
    if not candidate or len(candidate) > _MAX_RAW_NAME_LENGTH:
        return None
    try:
        name = idna.encode(candidate, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return None
    labels = name.split(".")
    if len(name) > MAX_HOST_NAME_LENGTH or _DIGITS.fullmatch(labels[-1]):
        return None
    if not all(_LABEL.fullmatch(label) for label in labels):
        return None
    return name


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_domain(value) -> str:
    """A domain name (two labels or more), lowercase and IDNA-encoded: `Bücher.Example` ->
    `xn--bcher-kva.example`."""
    if _is_blank(value):
        raise DomainRequiredError("domain is required", field="domain")
    name = _host_name(value) if isinstance(value, str) else None
    if name is None or "." not in name:
        raise ServiceError("domain must be a domain name such as mail.example.com", field="domain")
    return name


def parse_host(value, *, field: str = "options.host") -> str:
    """A host name (lowercase, IDNA-encoded) or an IPv4/IPv6 address (brackets optional)."""
    if _is_blank(value):
        raise ServiceError("host is required", field=field)
    if isinstance(value, str) and len(value) <= _MAX_RAW_NAME_LENGTH:
        candidate = value.strip()
        try:
            return str(ipaddress.ip_address(candidate.removeprefix("[").removesuffix("]")))
        except ValueError:
            pass
        name = _host_name(candidate)
        if name is not None:
            return name
    raise ServiceError("host must be a host name or an IP address", field=field)


def parse_port(value, *, field: str = "options.port") -> int:
    """A JSON integer from 1 to 65535; strings ("465"), floats and booleans are refused."""
    if value is None:
        raise ServiceError("port is required", field=field)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ServiceError("port must be an integer from 1 to 65535", field=field)
    return value


def parse_flag(value, *, field: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        name = field.rsplit(".", 1)[-1]
        raise ServiceError(f"{name} must be true or false", field=field)
    return value


def parse_email_address(value, *, field: str) -> str:
    """An address like `user@example.com`; the domain part is lowercased and IDNA-encoded."""
    name = field.rsplit(".", 1)[-1]
    if _is_blank(value):
        raise ServiceError(f"{name} is required", field=field)
    error = ServiceError(f"{name} must be an email address", field=field)
    if (
        not isinstance(value, str)
        or not is_storable_text(value)
        or len(value.strip()) > MAX_ADDRESS_LENGTH
    ):
        raise error
    address = value.strip()
    try:
        _validate_email(address)
    except ValidationError:
        raise error from None
    domain: str | None
    local_part, domain = address.rsplit("@", 1)
    if not domain.startswith("["):
        domain = _host_name(domain)
        if domain is None:
            raise error
    return f"{local_part}@{domain}"


def parse_text(
    value, *, field: str, max_length: int, required: bool = False, strip: bool = True
) -> str:
    name = field.rsplit(".", 1)[-1]
    if value is None or (required and _is_blank(value)):
        if required:
            raise ServiceError(f"{name} is required", field=field)
        return ""
    if not isinstance(value, str):
        raise ServiceError(f"{name} must be a string", field=field)
    if not is_storable_text(value):
        raise ServiceError(f"{name} must be text without NUL or invalid characters", field=field)
    if len(value) > max_length:
        raise ServiceError(f"{name} must be at most {max_length} characters", field=field)
    return value.strip() if strip else value


def parse_provider(value) -> str:
    if value is None:
        raise ServiceError('provider is required ("smtp")', field="provider")
    if value != RelaySetting.PROVIDER_SMTP:
        raise ServiceError('provider must be "smtp"', field="provider")
    return value


@dataclass(frozen=True)
class RelaySettingInput:
    """A validated record, in the model's terms."""

    domain: str
    provider: str
    description: str
    from_address: str
    host: str
    port: int
    secure: bool
    debug: bool
    tls_reject_unauthorized: bool
    # "" for an unauthenticated relay.
    auth_user: str
    # None with an auth_user: keep the stored password (only when blank passwords are allowed).
    auth_password: str | None

    def model_fields(self) -> dict:
        """Everything but the password, which the service encrypts."""
        return {
            "provider": self.provider,
            "description": self.description,
            "from_address": self.from_address,
            "host": self.host,
            "port": self.port,
            "secure": self.secure,
            "debug": self.debug,
            "tls_reject_unauthorized": self.tls_reject_unauthorized,
            "auth_user": self.auth_user,
        }


def parse_object(value, *, field: str, required: bool = False) -> dict | None:
    """A JSON object, or None when an optional one is left out."""
    name = field.rsplit(".", 1)[-1]
    if value is None:
        if required:
            raise ServiceError(f"{name} is required", field=field)
        return None
    if not isinstance(value, dict):
        raise ServiceError(f"{name} must be an object", field=field)
    return value


class _FieldErrors:
    """Runs parsers and collects every field's error, so one answer lists all of them."""

    def __init__(self):
        self.errors: dict[str, str] = {}

    def take(self, parse: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """The parsed value, or None after noting the field's error."""
        try:
            return parse(*args, **kwargs)
        except DomainRequiredError:
            raise
        except ServiceError as error:
            self.errors[cast(str, error.field)] = error.message
            return None


def parse_relay_setting(*, domain, data, allow_blank_password: bool = False) -> RelaySettingInput:
    """The whole record (seed 004's body) and its domain, or InvalidFieldsError listing every
    bad field by its path in the body (`options.port`); DomainRequiredError comes first."""
    errors = _FieldErrors()
    domain = errors.take(parse_domain, domain)
    if not isinstance(data, dict):
        raise InvalidFieldsError(
            {**errors.errors, "body": "The request body must be a JSON object"}
        )

    provider = errors.take(parse_provider, data.get("provider"))
    description = errors.take(
        parse_text, data.get("description"), field="description", max_length=MAX_DESCRIPTION_LENGTH
    )
    from_address = errors.take(parse_email_address, data.get("from"), field="from")

    # Without a usable `options`, its fields are not checked: one error says it all.
    options = errors.take(parse_object, data.get("options"), field="options", required=True)
    # Any: each is set only where its parser succeeded, and used only when no field failed.
    host: Any
    port: Any
    secure: Any
    debug: Any
    reject_unauthorized: Any
    host = port = secure = debug = reject_unauthorized = None
    auth_user, auth_password = "", None
    if options is not None:
        host = errors.take(parse_host, options.get("host"))
        port = errors.take(parse_port, options.get("port"))
        secure = errors.take(
            parse_flag, options.get("secure"), field="options.secure", default=False
        )
        debug = errors.take(parse_flag, options.get("debug"), field="options.debug", default=False)
        tls = errors.take(parse_object, options.get("tls"), field="options.tls") or {}
        reject_unauthorized = errors.take(
            parse_flag,
            tls.get("rejectUnauthorized"),
            field="options.tls.rejectUnauthorized",
            default=True,
        )
        auth = errors.take(parse_object, options.get("auth"), field="options.auth")
        if auth is not None:
            auth_user = errors.take(
                parse_text,
                auth.get("user"),
                field="options.auth.user",
                max_length=MAX_AUTH_USER_LENGTH,
                required=True,
            )
            password = auth.get("pass")
            if not (allow_blank_password and password in (None, "")):
                auth_password = errors.take(
                    parse_text,
                    password,
                    field="options.auth.pass",
                    max_length=MAX_PASSWORD_LENGTH,
                    required=True,
                    strip=False,
                )

    if errors.errors:
        raise InvalidFieldsError(errors.errors)
    return RelaySettingInput(
        domain=domain,
        provider=provider,
        description=description,
        from_address=from_address,
        host=host,
        port=port,
        secure=secure,
        debug=debug,
        tls_reject_unauthorized=reject_unauthorized,
        auth_user=auth_user,
        auth_password=auth_password,
    )


def unicode_domain(domain: str) -> str:
    """A stored (IDNA) domain as people write it: `xn--bcher-kva.example` -> `bücher.example`."""
    try:
        return idna.decode(domain)
    except (idna.IDNAError, UnicodeError):
        return domain

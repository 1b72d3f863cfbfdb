"""The one error type that services raise; each surface maps it to its own shape."""


class ServiceError(Exception):
    """A request the rules refuse. `field` names the offending input when there is one."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFoundError(ServiceError):
    """The object does not exist for this owner (another owner's object included)."""


class InvalidFieldsError(ServiceError):
    """Several inputs refused at once: `errors` maps each offending field to its message."""

    def __init__(self, errors: dict[str, str]):
        first_field, first_message = next(iter(errors.items()))
        super().__init__(first_message, field=first_field)
        self.errors = dict(errors)


class ApiAuthenticationFailed(Exception):
    """API credentials missing, unknown, revoked or not matching."""


class ApiAuthenticationThrottled(Exception):
    """Too many failed API authentications from this address or for this owner_id."""

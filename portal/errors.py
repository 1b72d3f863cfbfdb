"""The one error type that services raise; each surface maps it to its own shape."""


class ServiceError(Exception):
    """A request the rules refuse. `field` names the offending input when there is one."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFoundError(ServiceError):
    """The object does not exist for this owner (another owner's object included)."""

"""The exceptions the client raises: one base class, `Error`, for everything that goes wrong.

API errors are mapped from the answer's `name` (the SMTP users API) or, when the answer has
none (the email settings API), from its HTTP status. Messages never carry credentials.
"""

from __future__ import annotations

from typing import Any


class Error(Exception):
    """Base of every error the client raises.

    `name` is the API's error name (or the class name when the API gave none), `code` the API's
    error code (-1 for the SMTP users API; None when absent), `message` the API's human-readable
    text, `status_code` the HTTP status (None when no answer arrived), `body` the parsed error
    answer (None when there was none) and `errors` the per-field problems the API listed, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        name: str | None = None,
        code: Any = None,
        status_code: int | None = None,
        body: dict | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.name = name or type(self).__name__
        self.code = code
        self.status_code = status_code
        self.body = body
        errors = body.get("errors") if body else None
        self.errors: dict | None = errors if isinstance(errors, dict) and errors else None

    def __str__(self) -> str:
        text = self.message
        if self.errors:
            text = f"{text} {_describe_field_errors(self.errors)}"
        if self.status_code is not None:
            text = f"{text} (HTTP {self.status_code})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, code={self.code!r}, "
            f"status_code={self.status_code!r}, message={self.message!r})"
        )


class ValidationError(Error):
    """A parameter is missing, malformed or out of range (HTTP 400)."""


class NotFoundError(ValidationError):
    """The named SMTP user or domain settings do not exist for this owner (HTTP 404).

    A ValidationError, because the SMTP users API names it so: code written against the seeds'
    clients that catches ValidationError keeps catching it.
    """


class AuthenticationError(Error):
    """owner_id or token missing, unknown, revoked or not matching (HTTP 401)."""


class GeneralError(Error):
    """The API failed for another reason: wrong method, too many requests, a server error."""


class NetworkError(Error):
    """No answer arrived: the connection failed, was cut, or timed out."""


class ProtocolError(Error):
    """An answer arrived but is not the API's: not JSON, not an object, or a redirect."""


_ERRORS_BY_NAME: dict[str, type[Error]] = {
    "ValidationError": ValidationError,
    "AuthenticationError": AuthenticationError,
    "GeneralError": GeneralError,
}
_ERRORS_BY_STATUS: dict[int, type[Error]] = {
    400: ValidationError,
    401: AuthenticationError,
    404: NotFoundError,
}


def error_from_answer(status_code: int, body: dict) -> Error:
    """The exception for an API error answer (already parsed as a JSON object)."""
    name = body.get("name") or body.get("type")
    if not isinstance(name, str):
        name = None
    error_class = (name and _ERRORS_BY_NAME.get(name)) or _ERRORS_BY_STATUS.get(
        status_code, GeneralError
    )
    if error_class is ValidationError and status_code == 404:
        error_class = NotFoundError
    message = body.get("message") or body.get("info") or body.get("Info") or "(no message)"
    return error_class(
        str(message),
        name=name,
        code=body.get("code"),
        status_code=status_code,
        body=body,
    )


def _describe_field_errors(errors: dict, prefix: str = "") -> str:
    """{"options": {"port": ["too big"]}} -> "options.port: too big"."""
    parts = []
    for field, problem in errors.items():
        path = f"{prefix}{field}"
        if isinstance(problem, dict):
            parts.append(_describe_field_errors(problem, prefix=f"{path}."))
        elif isinstance(problem, list):
            parts.append(f"{path}: {' '.join(str(item) for item in problem)}")
        else:
            parts.append(f"{path}: {problem}")
    return "; ".join(parts)

"""What an exception means to an API caller, decided once for both APIs.

`classify` turns whatever a call raised into an ApiError (HTTP status, kind, message, field
errors). Each API subclasses ApiView and says only how an ApiError looks in its own envelope
(`error_response`) and where it reads credentials.
"""

import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import DatabaseError, OperationalError
from django.http import Http404
from django.urls import Resolver404, resolve
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import (
    ApiAuthenticationFailed,
    ApiAuthenticationThrottled,
    NotFoundError,
    ServiceError,
)
from core.parsers import BodyNestedTooDeeply

logger = logging.getLogger(__name__)


class Kind(enum.Enum):
    INVALID = "invalid"  # the rules refuse a parameter
    NOT_FOUND = "not found"  # what the call names does not exist for this owner
    BAD_BODY = "bad body"  # not JSON or form-encoded, or not an object
    UNREADABLE_BODY = "unreadable body"  # nested too deeply, or too many fields
    BODY_TOO_LARGE = "body too large"
    UNAUTHENTICATED = "unauthenticated"
    THROTTLED = "throttled"
    METHOD_NOT_ALLOWED = "method not allowed"
    UNKNOWN_CALL = "unknown call"
    REFUSED = "refused"  # any other refusal that carries its own HTTP status (DRF's)
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


@dataclass(frozen=True)
class ApiError:
    status: int
    kind: Kind
    message: str
    field_errors: dict[str, str] = field(default_factory=dict)


def classify(exc: Exception) -> ApiError:
    if isinstance(exc, NotFoundError):
        return ApiError(404, Kind.NOT_FOUND, exc.message)
    if isinstance(exc, ServiceError):
        errors = getattr(exc, "errors", None) or ({exc.field: exc.message} if exc.field else {})
        return ApiError(400, Kind.INVALID, exc.message, errors)
    if isinstance(exc, (exceptions.ParseError, exceptions.UnsupportedMediaType)):
        return ApiError(
            400, Kind.BAD_BODY, "The request body must be a JSON object or form-encoded"
        )
    if isinstance(exc, BodyNestedTooDeeply):
        return _unreadable_body("The request body is nested too deeply")
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        return _unreadable_body("The request body has too many fields")
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return ApiError(
            413, Kind.BODY_TOO_LARGE, f"The request body is too large (at most {limit} bytes)"
        )
    if isinstance(exc, ApiAuthenticationFailed):
        return ApiError(401, Kind.UNAUTHENTICATED, "Invalid credentials")
    if isinstance(exc, ApiAuthenticationThrottled):
        return ApiError(
            429, Kind.THROTTLED, "Too many failed authentications; try again in a minute"
        )
    if isinstance(exc, exceptions.MethodNotAllowed):
        return ApiError(405, Kind.METHOD_NOT_ALLOWED, f"Method {exc.args[0]} not allowed")
    if isinstance(exc, (Http404, exceptions.NotFound)):
        return ApiError(404, Kind.UNKNOWN_CALL, "Unknown API call")
    if isinstance(exc, exceptions.APIException):
        return ApiError(exc.status_code, Kind.REFUSED, str(exc.detail))
    if isinstance(exc, OperationalError):
        logger.warning("API call: database unavailable: %s", type(exc).__name__)
        return ApiError(503, Kind.UNAVAILABLE, "Service temporarily unavailable; try again")
    if isinstance(exc, DatabaseError):
        logger.exception("API call: database error")
    else:
        logger.exception("API call: unexpected error")
    return ApiError(500, Kind.INTERNAL, "Internal error")


def _unreadable_body(message: str) -> ApiError:
    return ApiError(400, Kind.UNREADABLE_BODY, message, {"body": message})


def api_exception_handler(exc, context) -> Response:
    return context["view"].error_response(classify(exc), exc)


class ApiNegotiation(DefaultContentNegotiation):
    """DRF's content negotiation, but a call that accepts anything (no Accept header, or
    `*/*`, as most clients send) gets the first renderer without parsing Accept (~50 µs)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        accepts_anything = request.META.get("HTTP_ACCEPT", "*/*") == "*/*"
        overridden = format_suffix or self.settings.URL_FORMAT_OVERRIDE in request.query_params
        if accepts_anything and not overridden:
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


class ApiView(APIView):
    """A call of one of the APIs. Subclasses render errors in their envelope; every answer
    is `Cache-Control: no-store`, as many carry passwords and tokens."""

    content_negotiation_class = ApiNegotiation

    def get_exception_handler(self):
        return api_exception_handler

    def error_response(self, error: ApiError, exc: Exception) -> Response:
        raise NotImplementedError

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response


class UnknownCallMixin:
    """Any other path under an API's prefixes: that API's envelope, not Django's HTML 404."""

    http_method_names: Sequence[str] = ["get", "post", "put", "patch", "delete", "head", "options"]

    def initial(self, request, *args, **kwargs):
        raise Http404()


def serves_api(path_info: str) -> bool:
    """Whether the path is answered by an API view (the request need not be routed yet)."""
    try:
        view = resolve(path_info).func
    except Resolver404:
        return False
    view_class = getattr(view, "cls", None)
    return isinstance(view_class, type) and issubclass(view_class, ApiView)

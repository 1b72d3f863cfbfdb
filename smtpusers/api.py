"""The seed-compatible SMTP users API (docs/api.md §1).

Every call is a POST; credentials ride in the body or in the X-Key / X-Access-Token headers;
every error, of every path, is the envelope {status, code, name, type, message}.
"""

import logging

from django.db import DatabaseError, OperationalError
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services import (
    ApiAuthenticationFailed,
    ApiAuthenticationThrottled,
    authenticate_owner,
)
from core.errors import NotFoundError, ServiceError
from smtpusers import selectors, services
from smtpusers import serializers as shapes
from smtpusers.models import status_name
from smtpusers.quota import usage_summary

logger = logging.getLogger(__name__)

CREDENTIAL_FIELDS = ("owner_id", "token")


def error_response(http_status: int, name: str, message: str) -> Response:
    body = {"status": "error", "code": -1, "name": name, "type": name, "message": message}
    return Response(body, status=http_status)


def _error_for(exc) -> Response:
    if isinstance(exc, NotFoundError):
        return error_response(404, "ValidationError", exc.message)
    if isinstance(exc, ServiceError):
        return error_response(400, "ValidationError", exc.message)
    if isinstance(exc, (exceptions.ParseError, exceptions.UnsupportedMediaType)):
        return error_response(
            400, "ValidationError", "The request body must be a JSON object or form-encoded"
        )
    if isinstance(exc, ApiAuthenticationFailed):
        return error_response(401, "AuthenticationError", "Token MissMatch")
    if isinstance(exc, ApiAuthenticationThrottled):
        return error_response(
            429, "GeneralError", "Too many failed authentications; try again in a minute"
        )
    if isinstance(exc, exceptions.MethodNotAllowed):
        return error_response(405, "GeneralError", f"Method {exc.args[0]} not allowed; use POST")
    if isinstance(exc, (Http404, exceptions.NotFound)):
        return error_response(404, "GeneralError", "Unknown API call")
    if isinstance(exc, OperationalError):
        logger.warning("SMTP users API: database unavailable: %s", type(exc).__name__)
        return error_response(503, "GeneralError", "Service temporarily unavailable; try again")
    if isinstance(exc, DatabaseError):
        logger.exception("SMTP users API: database error")
        return error_response(500, "GeneralError", "Internal error")
    logger.exception("SMTP users API: unexpected error")
    return error_response(500, "GeneralError", "Internal error")


def smtp_api_exception_handler(exc, context):
    return _error_for(exc)


def request_params(request) -> dict:
    """The body as a plain dict; a repeated form field becomes a list (and so invalid)."""
    data = request.data
    if hasattr(data, "getlist"):
        return {
            key: values[0] if len(values) == 1 else values
            for key, values in ((key, data.getlist(key)) for key in data)
        }
    if not isinstance(data, dict):
        raise exceptions.ParseError()
    return dict(data)


class SmtpApiView(APIView):
    """A POST call of the SMTP users API; subclasses implement `call(owner, params)`."""

    http_method_names = ["post"]

    def get_exception_handler(self):
        return smtp_api_exception_handler

    def post(self, request, *args, **kwargs):
        params = request_params(request)
        owner_id = params.pop("owner_id", None) or request.headers.get("X-Key")
        token = params.pop("token", None) or request.headers.get("X-Access-Token")
        api_token = authenticate_owner(request, owner_id=owner_id, token=token)
        return Response(self.call(api_token.owner, params))

    def call(self, owner, params: dict) -> dict:
        raise NotImplementedError


def documented(
    *, summary: str, description: str, request, response, form_request=None, finds_smtp_user=False
):
    """The OpenAPI description of one call: its body in JSON or form encoding, and its errors."""
    error_statuses = [400, 401, 405, 429, 500, 503] + ([404] if finds_smtp_user else [])
    return extend_schema_view(
        post=extend_schema(
            summary=summary,
            description=description,
            tags=["SMTP users"],
            request={
                "application/json": request,
                "application/x-www-form-urlencoded": form_request or request,
            },
            responses={200: response, **dict.fromkeys(error_statuses, shapes.ApiError)},
        )
    )


@documented(
    summary="Create an SMTP user",
    description="Creates an enabled SMTP user with generated name and password. "
    "Also served as addSmtpUser. `daily_limit` is an optional extra (none by default).",
    request=shapes.AddSmtpRequest,
    form_request=shapes.AddSmtpFormRequest,
    response=shapes.AddSmtpResponse,
)
class AddSmtp(SmtpApiView):
    def call(self, owner, params):
        smtp_user, password = services.create_smtp_user(
            owner,
            total_limit=params.get("total_limit"),
            hourly_limit=params.get("hourly_limit"),
            daily_limit=params.get("daily_limit"),
        )
        return {
            "status": "success",
            "message": "SMTP User Created",
            "smtp_user_name": smtp_user.smtp_user_name,
            "smtp_password": password,
        }


@documented(
    summary="Change an SMTP user's limits or status",
    description='Parameters left out or null keep their value; `daily_limit` 0 or "none" '
    "removes the daily limit. Also served as editSmtpUser.",
    request=shapes.EditSmtpRequest,
    form_request=shapes.EditSmtpFormRequest,
    response=shapes.EditSmtpResponse,
    finds_smtp_user=True,
)
class EditSmtp(SmtpApiView):
    def call(self, owner, params):
        services.update_smtp_user(
            owner,
            smtp_user_name=params.get("smtp_user_name"),
            total_limit=params.get("total_limit"),
            hourly_limit=params.get("hourly_limit"),
            daily_limit=params.get("daily_limit"),
            status=params.get("status"),
        )
        return {"status": "success", "message": "SMTP User Updated"}


@documented(
    summary="Give an SMTP user a new password",
    description="The old password stops working at once.",
    request=shapes.ResetSmtpPasswordRequest,
    response=shapes.ResetSmtpPasswordResponse,
    finds_smtp_user=True,
)
class ResetSmtpPassword(SmtpApiView):
    def call(self, owner, params):
        smtp_user, password = services.reset_smtp_password(
            owner, smtp_user_name=params.get("smtp_user_name")
        )
        return {
            "status": "success",
            "message": "password reseted",
            "smtp_user_name": smtp_user.smtp_user_name,
            "smtp_password": password,
        }


def _utc_text(moment) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def smtp_list_item(smtp_user, now) -> dict:
    password = selectors.smtp_password_of(smtp_user)
    usage = usage_summary(smtp_user, now=now)
    return {
        "smtp_user_name": smtp_user.smtp_user_name,
        "smtp_password": password,
        "password": password,
        "status": status_name(smtp_user.is_enabled),
        "total_limit": smtp_user.total_limit,
        "hourly_limit": smtp_user.hourly_limit,
        # Extras beyond the seeds; the documented fields above stay as they are.
        "total_used": usage.total.used,
        "total_remaining": usage.total.remaining,
        "hourly_used": usage.hourly.used,
        "hourly_remaining": usage.hourly.remaining,
        "hourly_resets_at": _utc_text(usage.hourly.resets_at),
        "daily_limit": usage.daily.limit,
        "daily_used": usage.daily.used,
        "daily_remaining": usage.daily.remaining,
        "daily_resets_at": _utc_text(usage.daily.resets_at),
        "last_used_at": _utc_text(smtp_user.last_used_at),
        "last_used_ip": smtp_user.last_used_ip,
        "last_refusal": smtp_user.last_refusal or None,
        "last_refusal_at": _utc_text(smtp_user.last_refusal_at),
        "created_at": _utc_text(smtp_user.created_at),
    }


@documented(
    summary="List the owner's SMTP users, oldest first",
    description="With each SMTP user's password, limits, status and, as extras, its usage of "
    "each window (used, remaining, reset time), last use and last refusal.",
    request=shapes.ListSmtpRequest,
    response=shapes.ListSmtpResponse,
)
class ListSmtp(SmtpApiView):
    def call(self, owner, params):
        now = timezone.now()
        return {
            "status": "success",
            "smtp_list": [
                smtp_list_item(smtp_user, now)
                for smtp_user in selectors.smtp_user_rows_oldest_first(owner)
            ],
        }


@extend_schema(exclude=True)
class UnknownCall(SmtpApiView):
    """Any other path under the API prefix: the envelope, not Django's HTML 404."""

    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def initial(self, request, *args, **kwargs):
        raise Http404()

"""The seed-compatible SMTP users API (docs/api.md §1).

Every call is a POST; credentials ride in the body or in the X-Key / X-Access-Token headers;
every error, of every path, is the envelope {status, code, name, type, message}.
"""

from collections.abc import Sequence

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions
from rest_framework.response import Response

from accounts.services import authenticate_owner
from core.api import ApiError, ApiView, Kind, UnknownCallMixin
from smtpusers import selectors, services
from smtpusers import serializers as shapes
from smtpusers.models import status_name
from smtpusers.quota import usage_summary

ERROR_NAMES = {
    Kind.INVALID: "ValidationError",
    Kind.NOT_FOUND: "ValidationError",
    Kind.BAD_BODY: "ValidationError",
    Kind.UNREADABLE_BODY: "ValidationError",
    Kind.UNAUTHENTICATED: "AuthenticationError",
}
# The seeds' wording where this API has its own.
ERROR_MESSAGES = {Kind.UNAUTHENTICATED: "Token MissMatch"}


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


class SmtpApiView(ApiView):
    """A POST call of the SMTP users API; subclasses implement `call(owner, params)`."""

    http_method_names: Sequence[str] = ["post"]

    def error_response(self, error: ApiError, exc) -> Response:
        name = ERROR_NAMES.get(error.kind, "GeneralError")
        message = ERROR_MESSAGES.get(error.kind, error.message)
        if error.kind is Kind.METHOD_NOT_ALLOWED:
            message += "; use POST"
        body = {"status": "error", "code": -1, "name": name, "type": name, "message": message}
        return Response(body, status=error.status)

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
class UnknownCall(UnknownCallMixin, SmtpApiView):
    pass

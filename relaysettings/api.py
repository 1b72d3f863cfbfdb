"""The Webitel-compatible domain email settings API (docs/api.md §2, seed 004).

Served under /api/v2/ and /engine/api/v2/. Credentials: the X-Key / X-Access-Token headers, or
x_key / access_token as query or body fields. Every error, of every path and method, is
{"status": "error", "info": ...} (plus "errors" for bad parameters).
"""

from datetime import UTC

from django.http import QueryDict
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.response import Response

from accounts.services import authenticate_owner
from core.api import ApiError, ApiView, Kind, UnknownCallMixin
from core.errors import InvalidFieldsError
from relaysettings import dkim, selectors, services, verification
from relaysettings.models import DkimKey, RelaySetting
from relaysettings.serializers import RECORD_REQUEST, REMOVED, SENT, documented
from relaysettings.validators import DomainRequiredError

NOT_A_JSON_OBJECT = "The request body must be a JSON object (Content-Type: application/json)"
# Seed 004's wording where this API has its own.
ERROR_INFOS = {
    Kind.NOT_FOUND: "Not found!",
    Kind.UNKNOWN_CALL: "Not found!",
    Kind.UNAUTHENTICATED: "Invalid Token or Key",
}


def _utc_time(moment) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _dkim_body(key: DkimKey, domain: str) -> dict:
    return {
        "selector": key.selector,
        "txt_name": dkim.record_name(key, domain),
        "txt_value": dkim.record_value(key),
        "status": key.dns_status,
    }


def verification_extras(relay_setting: RelaySetting, keys: list[DkimKey]) -> dict:
    """API.md §5's extras: the ownership record and the DKIM key with their status; during a
    key rotation also `dkim_next`, the key to publish now."""
    by_state = {key.state: key for key in keys}
    active, successor = by_state.get(DkimKey.State.ACTIVE), by_state.get(DkimKey.State.NEXT)
    extras = {
        "verification": {
            "status": relay_setting.verification_status,
            "txt_name": verification.ownership_name(relay_setting.domain),
            "txt_value": verification.ownership_value(relay_setting),
            "checked_at": _utc_time(relay_setting.verification_checked_at),
            "detail": relay_setting.verification_detail or None,
        },
        "dkim": _dkim_body(active, relay_setting.domain) if active else None,
    }
    if successor is not None:
        extras["dkim_next"] = _dkim_body(successor, relay_setting.domain)
    return extras


def record_body(relay_setting: RelaySetting, keys: list[DkimKey] | None = None) -> dict:
    """The record as seed 004 shows it (`auth` only for an authenticated relay), then the
    verification extras beside the seed's fields."""
    options = {
        "host": relay_setting.host,
        "port": relay_setting.port,
        "secure": relay_setting.secure,
        "debug": relay_setting.debug,
        "tls": {"rejectUnauthorized": relay_setting.tls_reject_unauthorized},
    }
    if relay_setting.auth_user:
        options["auth"] = {
            "user": relay_setting.auth_user,
            "pass": selectors.auth_password_of(relay_setting),
        }
    return {
        "_id": relay_setting.public_id,
        "provider": relay_setting.provider,
        "description": relay_setting.description,
        "from": relay_setting.from_address,
        "options": options,
        "domain": relay_setting.domain,
        **verification_extras(
            relay_setting, selectors.dkim_keys_of(relay_setting) if keys is None else keys
        ),
    }


class EmailSettingsApiView(ApiView):
    """Authenticates the owner before any handler runs; `self.owner`, `self.body` after."""

    def error_response(self, error: ApiError, exc) -> Response:
        if isinstance(exc, DomainRequiredError):
            info, extra = "Bad request (domain required).", {}
        elif error.kind is Kind.BAD_BODY:
            info, extra = "Bad parameters.", {"errors": {"body": NOT_A_JSON_OBJECT}}
        elif error.field_errors:
            info, extra = "Bad parameters.", {"errors": error.field_errors}
        else:
            # Also a refusal that is no field's fault, e.g. the upstream's reply to a test send.
            info, extra = ERROR_INFOS.get(error.kind, error.message), {}
        response = Response({"status": "error", "info": info, **extra}, status=error.status)
        if error.kind is Kind.METHOD_NOT_ALLOWED:
            response["Allow"] = ", ".join(self.allowed_methods)
        return response

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method.lower() not in self.http_method_names:
            # Before authentication, so that a wrong method is a 405 for everyone.
            raise exceptions.MethodNotAllowed(request.method)
        # Parsed once here: DRF answers an empty body on a second read of a malformed one.
        try:
            self.body, self.body_error = request.data, None
        except (exceptions.ParseError, exceptions.UnsupportedMediaType) as error:
            self.body, self.body_error = None, error
        api_token = authenticate_owner(
            request,
            owner_id=self._credential("X-Key", "x_key"),
            token=self._credential("X-Access-Token", "access_token"),
        )
        self.owner = api_token.owner

    def _credential(self, header: str, field: str):
        value = self.request.headers.get(header) or self.request.query_params.get(field)
        if not value and isinstance(self.body, dict):
            value = self.body.get(field)
        return value

    @property
    def domain(self):
        return self.request.query_params.get("domain")

    def record_data(self) -> dict:
        if self.body_error is not None or isinstance(self.body, QueryDict):
            # The record is nested JSON: a form-encoded body cannot carry it.
            raise InvalidFieldsError({"body": NOT_A_JSON_OBJECT})
        return self.body


class EmailSettings(EmailSettingsApiView):
    http_method_names = ["get", "post", "put", "delete"]

    @documented(summary="Read the email settings of a domain")
    def get(self, request, *args, **kwargs):
        return Response(record_body(*selectors.relay_setting_and_keys(self.owner, self.domain)))

    @documented(
        summary="Create the settings, or replace the whole existing record",
        request=RECORD_REQUEST,
        not_found=False,
    )
    def post(self, request, *args, **kwargs):
        relay_setting, _ = services.save_relay_setting(
            self.owner, domain=self.domain, data=self.record_data()
        )
        return Response(record_body(relay_setting))

    @documented(summary="Replace the whole existing record", request=RECORD_REQUEST)
    def put(self, request, *args, **kwargs):
        relay_setting, _ = services.save_relay_setting(
            self.owner, domain=self.domain, data=self.record_data(), replace_only=True
        )
        return Response(record_body(relay_setting))

    @documented(summary="Remove the settings of a domain", success=REMOVED, not_found=False)
    def delete(self, request, *args, **kwargs):
        removed = services.delete_relay_setting(self.owner, domain=self.domain)
        return Response({"status": "OK", "Info": f"Removed {removed} record."})


class VerifyDomain(EmailSettingsApiView):
    http_method_names = ["post"]

    @documented(summary="Look the domain's DNS records up now and answer the record")
    def post(self, request, *args, **kwargs):
        return Response(record_body(services.verify_domain(self.owner, domain=self.domain)))


class SendTestEmail(EmailSettingsApiView):
    http_method_names = ["post"]

    @documented(summary="Send a test email through the stored settings", success=SENT)
    def post(self, request, *args, to, **kwargs):
        services.send_test_email(self.owner, domain=self.domain, to=to)
        return Response({"status": "OK"})


@extend_schema(exclude=True)
class UnknownCall(UnknownCallMixin, EmailSettingsApiView):
    pass

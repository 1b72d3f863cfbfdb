"""Owner authentication shared by both APIs: owner_id + API token, with failure throttling."""

from accounts.models import ApiToken
from accounts.services import authenticate_api_token
from accounts.throttling import record_auth_failure


class ApiAuthenticationFailed(Exception):
    """Credentials missing, unknown, revoked or not matching."""


class ApiAuthenticationThrottled(Exception):
    """Too many failed authentications from this address or for this owner_id."""


def authenticate_owner(request, *, owner_id, token) -> ApiToken:
    api_token = authenticate_api_token(owner_id, token)
    if api_token is not None:
        return api_token
    if record_auth_failure(request, owner_id):
        raise ApiAuthenticationThrottled()
    raise ApiAuthenticationFailed()

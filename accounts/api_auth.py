"""Owner authentication shared by both APIs: owner_id + API token, with failure throttling."""

from accounts.models import ApiToken
from accounts.services import authenticate_api_token
from accounts.throttling import client_ip, record_auth_failure
from audit.context import Actor, set_actor


class ApiAuthenticationFailed(Exception):
    """Credentials missing, unknown, revoked or not matching."""


class ApiAuthenticationThrottled(Exception):
    """Too many failed authentications from this address or for this owner_id."""


def authenticate_owner(request, *, owner_id, token) -> ApiToken:
    api_token = authenticate_api_token(owner_id, token)
    if api_token is not None:
        set_actor(
            Actor(
                label=f"API token {api_token.prefix}… ({api_token.name})",
                source_ip=client_ip(request) or None,
            )
        )
        return api_token
    if record_auth_failure(request, owner_id):
        raise ApiAuthenticationThrottled()
    raise ApiAuthenticationFailed()

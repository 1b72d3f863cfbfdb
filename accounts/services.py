"""Every change to owners, logins and API tokens."""

from datetime import timedelta
from typing import cast

from django.apps import apps as django_apps
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from rest_framework.request import Request

from accounts import token_cache
from accounts.models import ApiToken, Owner, User
from accounts.support import ensure_support_group
from accounts.throttling import record_auth_failure
from accounts.tokens import generate_token, hash_token, visible_prefix
from accounts.validators import (
    check_new_password,
    parse_login_email,
    parse_name,
    parse_owner_name,
)
from audit.services import record_event
from core.actors import Actor, set_actor
from core.errors import ApiAuthenticationFailed, ApiAuthenticationThrottled, ServiceError
from core.http import client_ip
from core.tenancy import get_owned

# last_used_at is written at most this often per token, to keep API calls to few queries.
LAST_USED_RESOLUTION = timedelta(minutes=1)
TOKEN_NAME_MAX_LENGTH = cast(int, ApiToken._meta.get_field("name").max_length)


def _token_target(api_token: ApiToken) -> str:
    return f"API token {api_token.name} ({api_token.prefix}…)"


def _clean_token_name(name: object) -> str:
    return parse_name(name, label="Token name", max_length=TOKEN_NAME_MAX_LENGTH)


def create_api_token(owner: Owner, *, name: str) -> tuple[ApiToken, str]:
    """A new token for `owner`; the plaintext is returned once and never stored."""
    name = _clean_token_name(name)
    plaintext = generate_token()
    with transaction.atomic():
        api_token = ApiToken.objects.create(
            owner=owner,
            name=name,
            prefix=visible_prefix(plaintext),
            token_hash=hash_token(plaintext),
        )
        record_event(owner, action="api_token.create", target=_token_target(api_token))
    return api_token, plaintext


def revoke_api_token(owner: Owner, *, token_id: int) -> ApiToken:
    with transaction.atomic():
        api_token = get_owned(
            owner,
            ApiToken.objects.select_for_update(),
            not_found="API token not found",
            pk=token_id,
        )
        if api_token.revoked_at is None:
            api_token.revoked_at = timezone.now()
            api_token.save(update_fields=["revoked_at"])
            record_event(owner, action="api_token.revoke", target=_token_target(api_token))
    return api_token


def create_owner(
    *, name: str, email: str | None = None, password: str | None = None
) -> tuple[Owner, str, User | None]:
    """An owner with one API token and, given email and password, a dashboard login."""
    name = parse_owner_name(name)
    if bool(email) != bool(password):
        raise ServiceError("A login needs both an email and a password", field="email")
    with transaction.atomic():
        owner = Owner.objects.create(name=name)
        login = None
        if email:
            email = _unused_login_email(email)
            login = User.objects.create_user(email=email, password=password, owner=owner)
        _, token = create_api_token(owner, name="default")
    return owner, token, login


def update_owner(owner: Owner, *, name: object = None, is_active: object = None) -> Owner:
    """Rename and/or (de)activate an owner; an inactive owner's tokens and logins stop working."""
    changes: dict[str, object] = {}
    if name is not None:
        changes["name"] = parse_owner_name(name)
    if is_active is not None:
        if not isinstance(is_active, bool):
            raise ServiceError("is_active must be true or false", field="is_active")
        changes["is_active"] = is_active
    with transaction.atomic():
        owner = Owner.objects.select_for_update().get(pk=owner.pk)
        changed = [field for field, value in changes.items() if getattr(owner, field) != value]
        if changed:
            record_event(
                owner,
                action="owner.update",
                target=f"Owner {owner.owner_id}",
                changes={field: [getattr(owner, field), changes[field]] for field in changed},
            )
            for field in changed:
                setattr(owner, field, changes[field])
            owner.save(update_fields=[*changed, "updated_at"])
    return owner


def create_staff_member(*, email: str, password: str) -> User:
    """A staff login (no owner) in the Support group: it works in the admin, deletes nothing."""
    email = parse_login_email(email)
    check_new_password(password, user=User(email=email))
    with transaction.atomic():
        email = _unused_login_email(email)
        support = ensure_support_group(django_apps)
        staff_member = User.objects.create_user(email=email, password=password, is_staff=True)
        staff_member.groups.add(support)
    return staff_member


def _unused_login_email(email: object) -> str:
    email = parse_login_email(email)
    if User.objects.filter(email=email).exists():
        raise ServiceError(f"A login with email {email} already exists", field="email")
    return email


def authenticate_api_token(owner_id: object, token: object) -> ApiToken | None:
    """The live token matching this owner_id and token, or None. No query when this process
    read the token less than token_cache.TTL_SECONDS ago, one otherwise (and once a minute
    the last_used_at UPDATE)."""
    if not isinstance(owner_id, str) or not isinstance(token, str) or not owner_id or not token:
        return None
    token_hash = hash_token(token)
    api_token = token_cache.live_token(
        token_hash,
        lambda: (
            ApiToken.objects.select_related("owner")
            .filter(token_hash=token_hash, revoked_at__isnull=True, owner__is_active=True)
            .first()
        ),
    )
    if api_token is None:
        return None
    if not constant_time_compare(api_token.owner.owner_id, owner_id):
        return None
    now = timezone.now()
    if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
        api_token.last_used_at = now
        token_cache.note_change(token_hash, api_token)
    return api_token


def authenticate_owner(
    request: HttpRequest | Request, *, owner_id: object, token: object
) -> ApiToken:
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

"""Reads of an owner's account data, always scoped to that owner."""

from django.db.models import QuerySet

from accounts.models import ApiToken, Owner
from core.tenancy import get_owned, owned_by


def api_tokens_for(owner: Owner) -> QuerySet[ApiToken]:
    """The owner's API tokens, revoked ones included, newest first."""
    return owned_by(owner, ApiToken).order_by("-created_at", "-id")


def api_token_for(owner: Owner, token_id: object) -> ApiToken:
    return get_owned(owner, ApiToken, not_found="API token not found", pk=token_id)

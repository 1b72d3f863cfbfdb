"""The one place that scopes customer data to its owner.

Every selector and service that reads an owner's objects goes through `owned_by` or
`get_owned`, so another owner's object is indistinguishable from a missing one.
"""

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet

from core.errors import NotFoundError

OwnedModel = TypeVar("OwnedModel", bound=Model)


def owned_by(
    owner: object, source: type[OwnedModel] | QuerySet[OwnedModel]
) -> QuerySet[OwnedModel]:
    queryset = source.all() if isinstance(source, QuerySet) else source._default_manager.all()
    return queryset.filter(owner=owner)


def get_owned(
    owner: object, source: type[OwnedModel] | QuerySet[OwnedModel], *, not_found: str, **lookup: Any
) -> OwnedModel:
    """The owner's object matching `lookup`, or NotFoundError(not_found)."""
    queryset = owned_by(owner, source)
    # A malformed id is just another missing object: letters for a numeric pk (ValueError), or
    # a NUL character, which PostgreSQL refuses in any text value (a DataError, i.e. a 500).
    if any(isinstance(value, str) and "\x00" in value for value in lookup.values()):
        raise NotFoundError(not_found)
    try:
        return queryset.get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise NotFoundError(not_found) from None

"""The one place that scopes customer data to its owner.

Every selector and service that reads an owner's objects goes through `owned_by` or
`get_owned`, so another owner's object is indistinguishable from a missing one.
"""

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.core.exceptions import MultipleObjectsReturned, ObjectDoesNotExist
from django.db.models import Model, QuerySet

from core.compiled import CompiledQuery
from core.errors import NotFoundError

OwnedModel = TypeVar("OwnedModel", bound=Model)


def owned_by(
    owner: object, source: type[OwnedModel] | QuerySet[OwnedModel], *, via: str = ""
) -> QuerySet[OwnedModel]:
    """`source` scoped to `owner`; `via` names the relation to the owned object for objects
    owned through it (a DKIM key through its relay setting)."""
    queryset = source.all() if isinstance(source, QuerySet) else source._default_manager.all()
    return queryset.filter(**{f"{via}__owner" if via else "owner": owner})


def get_owned(
    owner: object, source: type[OwnedModel] | QuerySet[OwnedModel], *, not_found: str, **lookup: Any
) -> OwnedModel:
    """The owner's object matching `lookup`, or NotFoundError(not_found)."""
    queryset = owned_by(owner, source)
    # A malformed id is just another missing object: letters for a numeric pk (ValueError), or
    # a NUL character, which PostgreSQL refuses in any text value (a DataError, i.e. a 500).
    if _has_nul(lookup):
        raise NotFoundError(not_found)
    try:
        return queryset.get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise NotFoundError(not_found) from None


def _has_nul(lookup: dict[str, Any]) -> bool:
    return any(isinstance(value, str) and "\x00" in value for value in lookup.values())


class CompiledGetOwned(Generic[OwnedModel]):
    """get_owned for a lookup an API call makes every time, its SQL compiled once
    (core.compiled): `CompiledGetOwned(lambda: SmtpUser.objects, smtp_user_name=str)`, then
    `lookup(owner, not_found=..., smtp_user_name=name)` answers as get_owned would."""

    def __init__(self, source: Callable[[], QuerySet[OwnedModel]], **kinds: type) -> None:
        self._kinds = kinds
        # Two rows at most, as QuerySet.get reads to tell one match from several.
        self._query: CompiledQuery[OwnedModel] = CompiledQuery(
            lambda owner, **lookup: owned_by(owner, source()).filter(**lookup)[:2],
            owner=int,
            **kinds,
        )

    def __call__(self, owner: Model, *, not_found: str, **lookup: Any) -> OwnedModel:
        wrong_kind = any(not isinstance(lookup[name], kind) for name, kind in self._kinds.items())
        if wrong_kind or _has_nul(lookup):
            raise NotFoundError(not_found)
        found = self._query(owner=owner.pk, **lookup)
        if not found:
            raise NotFoundError(not_found)
        if len(found) > 1:
            raise MultipleObjectsReturned(f"Several objects match {lookup}")
        return found[0]

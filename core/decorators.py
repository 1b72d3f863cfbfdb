"""The dashboard's one place that takes the owner from the request."""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import Http404

from core.errors import NotFoundError


def owner_required(view):
    """Sets request.owner to the signed-in login's owner; logins without one (staff) get 403.

    An object the owner does not hold (NotFoundError from a selector or service) is a 404,
    exactly like a missing one.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        owner = getattr(request.user, "owner", None)
        if owner is None or not owner.is_active:
            raise PermissionDenied("This login belongs to no active customer account.")
        request.owner = owner
        try:
            return view(request, *args, **kwargs)
        except NotFoundError as error:
            raise Http404(error.message) from None

    return wrapper

"""The dashboard's one place that takes the owner from the request."""

from functools import wraps

from django.core.exceptions import PermissionDenied


def owner_required(view):
    """Sets request.owner to the signed-in login's owner; logins without one (staff) get 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        owner = getattr(request.user, "owner", None)
        if owner is None or not owner.is_active:
            raise PermissionDenied("This login belongs to no active customer account.")
        request.owner = owner
        return view(request, *args, **kwargs)

    return wrapper

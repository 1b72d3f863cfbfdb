from core.actors import Actor, acting_as
from core.http import client_ip


def _label_for(user) -> str | None:
    if not user.is_authenticated:
        return None
    return f"staff {user.email}" if user.is_staff else f"login {user.email}"


class AuditActorMiddleware:
    """Makes the signed-in login (or staff member) and the client address the audit actor."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        ip = client_ip(request) or None
        user = getattr(request, "user", None)
        label = _label_for(user) if user is not None else None
        with acting_as(Actor(label=label or "anonymous", source_ip=ip)):
            return self.get_response(request)

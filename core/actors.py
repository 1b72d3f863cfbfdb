"""Who is acting, for the audit log, without threading an `actor` through every service.

Each surface says who acts (the middleware for pages and the admin, the API authentication for
API calls, commands and the SMTP server for themselves); services only say what changed.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    label: str
    source_ip: str | None = None


SYSTEM = Actor(label="system")
_current_actor: ContextVar[Actor | None] = ContextVar("audit_actor", default=None)


def current_actor() -> Actor:
    return _current_actor.get() or SYSTEM


@contextmanager
def acting_as(actor: Actor):
    token = _current_actor.set(actor)
    try:
        yield actor
    finally:
        _current_actor.reset(token)


def set_actor(actor: Actor) -> None:
    """For the rest of the current request (the middleware resets it afterwards)."""
    _current_actor.set(actor)

"""Live API tokens remembered by each process for at most a second.

Authenticating an API call by query cost about as much CPU as the rest of a single-object call,
so each process keeps the live token rows (with their owner) it has read, by token hash (the
plaintext is never kept), for TTL_SECONDS. Within this process a token's save or delete, or
its owner's, forgets every entry at once; a change made by another process (another gunicorn
worker, a management command) is seen when the entry expires: so a revoked token, a deleted
one, or one whose owner was deactivated stops working within TTL_SECONDS everywhere.
"""

from collections.abc import Callable
from dataclasses import dataclass
from time import monotonic

from django.db import DEFAULT_DB_ALIAS, transaction

from accounts.models import ApiToken, Owner

# The longest a token revoked elsewhere keeps working in this process.
TTL_SECONDS = 1.0
# Only live tokens are remembered, so the count is bounded by them; this bounds the memory.
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class _Entry:
    token_row: tuple
    owner_row: tuple
    expires_at: float


_entries: dict[str, _Entry] = {}


_TOKEN_FIELDS = [field.attname for field in ApiToken._meta.concrete_fields]
_OWNER_FIELDS = [field.attname for field in Owner._meta.concrete_fields]


def _row(instance: ApiToken | Owner, fields: list[str]) -> tuple:
    return tuple(getattr(instance, field) for field in fields)


def live_token(token_hash: str, read: Callable[[], ApiToken | None]) -> ApiToken | None:
    """The live token with this hash (its owner attached): as remembered, if read less than
    TTL_SECONDS ago, else from `read()`, remembered if it is live.

    The time is taken before `read()` queries, so an entry never outlives the database state
    it shows by more than TTL_SECONDS. Each call builds new instances, so no request sees
    another's changes to them.
    """
    now = monotonic()
    entry = _entries.get(token_hash)
    if entry is not None and now < entry.expires_at:
        remembered = ApiToken.from_db(DEFAULT_DB_ALIAS, _TOKEN_FIELDS, entry.token_row)
        remembered.owner = Owner.from_db(DEFAULT_DB_ALIAS, _OWNER_FIELDS, entry.owner_row)
        return remembered
    api_token = read()
    if api_token is not None:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[token_hash] = _Entry(
            _row(api_token, _TOKEN_FIELDS), _row(api_token.owner, _OWNER_FIELDS), now + TTL_SECONDS
        )
    return api_token


def note_change(token_hash: str, api_token: ApiToken) -> None:
    """Remember this process's own change to a live token (its last use) until the entry
    expires as it would have."""
    entry = _entries.get(token_hash)
    if entry is not None:
        _entries[token_hash] = _Entry(
            _row(api_token, _TOKEN_FIELDS), entry.owner_row, entry.expires_at
        )


def forget_all() -> None:
    _entries.clear()


def forget_on_change(**kwargs) -> None:
    """Signal receiver for any save or delete of a token or an owner (revocation, deactivation,
    deletion, cascades included)."""
    forget_all()
    # Another thread of this process may read the old row again before the change commits.
    transaction.on_commit(forget_all, using=kwargs.get("using"))

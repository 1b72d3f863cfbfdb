"""Counting failed API authentications in the shared cache.

A fixed window per client address and per claimed owner_id: once more than
API_AUTH_FAILURE_LIMIT failures fall in one window, further failures are refused with 429.
Successful calls are never throttled here.
"""

import hashlib

from django.conf import settings
from django.core.cache import cache

from core.http import client_ip


def _count_failure(key: str) -> int:
    window = settings.API_AUTH_FAILURE_WINDOW_SECONDS
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:
        # The key expired between add and incr: this failure opens a new window.
        cache.add(key, 1, timeout=window)
        return 1


def record_auth_failure(request, owner_id) -> bool:
    """Count one failed authentication; True when the caller is now over the limit."""
    counts = [_count_failure(f"api-auth-fail:ip:{client_ip(request)}")]
    if isinstance(owner_id, str) and owner_id:
        # Hashed: the claimed owner_id is caller input, unfit for a cache key as it is.
        owner_key = hashlib.sha256(owner_id.encode("utf-8", "surrogatepass")).hexdigest()
        counts.append(_count_failure(f"api-auth-fail:owner:{owner_key}"))
    return max(counts) > settings.API_AUTH_FAILURE_LIMIT

"""OpenAPI schema helpers (drf-spectacular)."""


def drop_trailing_slash_duplicates(endpoints, **kwargs):
    """Each API call also answers with a trailing slash; the schema lists it once."""
    return [endpoint for endpoint in endpoints if not endpoint[0].endswith("/")]

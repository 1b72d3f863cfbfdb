"""OpenAPI schema helpers (drf-spectacular)."""


def drop_trailing_slash_duplicates(endpoints, **kwargs):
    """Each API call also answers with a trailing slash; the schema lists it once."""
    return [endpoint for endpoint in endpoints if not endpoint[0].endswith("/")]


def require_bodies_with_required_fields(result, **kwargs):
    """A body whose schema names required fields cannot be left out (raw schemas say neither)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if body and any(
                media.get("schema", {}).get("required") for media in body["content"].values()
            ):
                body["required"] = True
    return result

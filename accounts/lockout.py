def lockout_username(request, credentials) -> str:
    """The email django-axes counts failed sign-ins against, in one letter case."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    return username.strip().lower()

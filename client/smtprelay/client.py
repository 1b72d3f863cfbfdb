"""The client: `Client(owner_id, token, app_domain)` like the seeds' clients, or with base_url."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from smtprelay.transport import Transport, display_url

DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_BACKOFF_SECONDS = 0.5


class Client:
    """Both APIs of the portal for one owner.

    `Client('owner_id', 'token', 'example.com')` calls https://api.example.com/v1.0/ (the seeds'
    form); `Client('owner_id', 'token', base_url='http://127.0.0.1:8000')` calls the portal at
    that address. `settings` is the SMTP users API, `email_settings` the email settings API.
    """

    def __init__(
        self,
        owner_id: str,
        token: str,
        app_domain: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff: float = DEFAULT_BACKOFF_SECONDS,
    ):
        if not owner_id or not token:
            raise ValueError("owner_id and token are both required")
        root = _api_root(app_domain, base_url)
        self.smtp_api_url = f"{root}/v1.0/"
        self.email_settings_url = f"{root}/api/v2/email/settings"
        self._transport = Transport(timeout=timeout, max_retries=max_retries, backoff=backoff)
        self.settings = Settings(
            self._transport, self.smtp_api_url, {"owner_id": owner_id, "token": token}
        )
        self.email_settings = EmailSettings(
            self._transport, self.email_settings_url, {"X-Key": owner_id, "X-Access-Token": token}
        )

    def close(self) -> None:
        """Close the pooled connections (the client also works as a context manager)."""
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        # Never the credentials.
        return f"<smtprelay.Client {display_url(self.smtp_api_url)}>"


def _api_root(app_domain: str | None, base_url: str | None) -> str:
    if (app_domain is None) == (base_url is None):
        raise ValueError(
            "give exactly one of app_domain (like 'example.com', for https://api.example.com) "
            "and base_url (like 'http://127.0.0.1:8000')"
        )
    if app_domain is not None:
        if not app_domain or any(character in app_domain for character in "/:@ "):
            raise ValueError(
                f"app_domain must be a bare domain like 'example.com', not {app_domain!r}; "
                "use base_url for a full address"
            )
        return f"https://api.{app_domain}"
    parts = urlsplit(base_url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base_url must be an http:// or https:// address, not {base_url!r}")
    if parts.query or parts.fragment:
        raise ValueError("base_url must not have a query or a fragment")
    return (base_url or "").rstrip("/")


def _without_none(params: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in params.items() if value is not None}


class Settings:
    """The SMTP users API, with the seeds' method names (camelCase), arguments and answers.

    Every method returns the API's answer as a dict, as it came; errors raise `smtprelay.Error`.
    """

    def __init__(self, transport: Transport, api_url: str, credentials: dict[str, str]):
        self._transport = transport
        self._api_url = api_url
        self._credentials = credentials

    def addSmtpUser(self, total_limit: int, hourly_limit: int) -> dict:
        """Create an SMTP user; the answer holds its smtp_user_name and smtp_password."""
        return self._call("addSmtp", total_limit=total_limit, hourly_limit=hourly_limit)

    addSmtp = addSmtpUser

    def editSmtp(
        self,
        smtp_user_name: str,
        total_limit: int | None = None,
        hourly_limit: int | None = None,
        status: str | None = None,
    ) -> dict:
        """Change limits and/or status ('Enable' or 'Disable'); None leaves a value as it is."""
        return self._call(
            "editSmtp",
            smtp_user_name=smtp_user_name,
            total_limit=total_limit,
            hourly_limit=hourly_limit,
            status=status,
        )

    editSmtpUser = editSmtp

    def resetSmtpPassword(self, smtp_user_name: str) -> dict:
        """Give the SMTP user a new password; the answer holds it."""
        return self._call("resetSmtpPassword", smtp_user_name=smtp_user_name)

    def listSmtp(self) -> dict:
        """All SMTP users of the owner, oldest first, under "smtp_list". Retried when safe."""
        return self._call("listSmtp", safe_to_retry=True)

    def _call(self, name: str, *, safe_to_retry: bool = False, **params: Any) -> dict:
        return self._transport.request(
            "POST",
            f"{self._api_url}settings/{name}",
            body={**self._credentials, **_without_none(params)},
            safe_to_retry=safe_to_retry,
        )


def smtp_settings(
    *,
    from_address: str,
    host: str,
    port: int,
    secure: bool = False,
    reject_unauthorized: bool = True,
    auth_user: str | None = None,
    auth_pass: str | None = None,
    description: str = "",
    debug: bool = False,
) -> dict:
    """An email settings record (the API's nested shape) from flat arguments.

    `secure` is TLS from the first byte (port 465); otherwise the relay uses STARTTLS when the
    server offers it. Without `auth_user` the record has no `auth`: an unauthenticated relay.
    """
    if (auth_user is None) != (auth_pass is None):
        raise ValueError("auth_user and auth_pass go together: give both or neither")
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "secure": secure,
        "debug": debug,
        "tls": {"rejectUnauthorized": reject_unauthorized},
    }
    if auth_user is not None:
        options["auth"] = {"user": auth_user, "pass": auth_pass}
    return {
        "provider": "smtp",
        "description": description,
        "from": from_address,
        "options": options,
    }


class EmailSettings:
    """The email settings API: one record of outgoing SMTP settings per domain.

    Every method returns the API's answer as a dict; a missing record raises NotFoundError.
    """

    def __init__(self, transport: Transport, url: str, headers: dict[str, str]):
        self._transport = transport
        self._url = url
        self._headers = headers

    def get(self, domain: str) -> dict:
        """The record for `domain`. Retried when safe."""
        return self._request("GET", domain, safe_to_retry=True)

    def create(self, domain: str, settings: dict | None = None, /, **fields: Any) -> dict:
        """Create the record, or replace it whole if one exists.

        Give a record dict (as `get` answers it; its `_id` and `domain` are ignored) or the
        keyword arguments of `smtp_settings`.
        """
        return self._request("POST", domain, body=_record_body(settings, fields))

    def update(self, domain: str, settings: dict | None = None, /, **fields: Any) -> dict:
        """Replace the existing record whole; NotFoundError if there is none."""
        return self._request("PUT", domain, body=_record_body(settings, fields))

    def delete(self, domain: str) -> dict:
        """Remove the record: {"status": "OK", "Info": "Removed 1 record."} (0 if none)."""
        return self._request("DELETE", domain)

    def send_test(self, domain: str, to: str) -> dict:
        """Send a test message to `to` through the domain's settings: {"status": "OK"}.

        A refusal by the SMTP server raises ValidationError with the server's reply.
        """
        return self._request("POST", domain, path=f"/test/{quote(to, safe='@')}")

    def verify(self, domain: str) -> dict:
        """Look the domain's DNS records (ownership TXT, DKIM) up now: the record, its
        `verification` and `dkim` extras updated. A DNS failure is a status, not an error."""
        return self._request("POST", domain, path="/verify")

    def _request(
        self,
        method: str,
        domain: str,
        *,
        path: str = "",
        body: dict | None = None,
        safe_to_retry: bool = False,
    ) -> dict:
        return self._transport.request(
            method,
            f"{self._url}{path}",
            params={"domain": domain},
            body=body,
            headers=self._headers,
            safe_to_retry=safe_to_retry,
        )


def _record_body(settings: dict | None, fields: dict[str, Any]) -> dict:
    if settings is not None and fields:
        raise TypeError("give a settings dict or keyword arguments, not both")
    record = settings if settings is not None else smtp_settings(**fields)
    # The domain rides in the query string and _id belongs to the portal.
    return {key: value for key, value in record.items() if key not in ("_id", "domain")}

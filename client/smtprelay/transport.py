"""HTTP for the client: one session, JSON answers, error mapping and retries of safe calls."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from smtprelay._version import __version__
from smtprelay.errors import NetworkError, ProtocolError, error_from_answer

# Answers that mean "try again later": too many requests, and the server-side failures a
# proxy or a restarting server gives.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


def display_url(url: str) -> str:
    """`url` without any user:password@ part, for messages."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


class Transport:
    """Sends requests and turns every answer into a dict or an `Error`."""

    def __init__(self, *, timeout: float, max_retries: int, backoff: float):
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        if backoff < 0:
            raise ValueError("backoff must be 0 or more")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self._session = requests.Session()
        self._session.headers["User-Agent"] = f"smtprelay-client/{__version__}"

    def close(self) -> None:
        self._session.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        safe_to_retry: bool = False,
        params: dict | None = None,
        json: dict | None = None,
        headers: dict | None = None,
    ) -> dict:
        """The answer's JSON object; raises an `Error` for anything else.

        A call that is `safe_to_retry` (it changes nothing) is tried again, up to `max_retries`
        times with exponential backoff, when no answer arrives or the answer is 429 or 5xx.
        Any other call is sent once: a lost answer may hide a change that did happen.
        """
        retries = self.max_retries if safe_to_retry else 0
        attempt = 0
        while True:
            is_last_attempt = attempt >= retries
            try:
                response = self._send(method, url, params=params, json=json, headers=headers)
            except NetworkError:
                if is_last_attempt:
                    raise
            else:
                if is_last_attempt or response.status_code not in RETRYABLE_STATUSES:
                    return self._answer_of(method, url, response)
            time.sleep(self.backoff * 2**attempt)
            attempt += 1

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            # No redirects: a redirected POST turns into a GET, and the credentials would
            # follow it to wherever it points.
            return self._session.request(
                method, url, timeout=self.timeout, allow_redirects=False, **kwargs
            )
        except requests.RequestException as exc:
            # `from None`: the library's exception holds the request, credentials included.
            raise NetworkError(f"{method} {display_url(url)} failed: {self._reason(exc)}") from None

    def _reason(self, exc: requests.RequestException) -> str:
        if isinstance(exc, requests.Timeout):
            return f"no answer within {self.timeout:g} s"
        return _root_cause(exc)

    def _answer_of(self, method: str, url: str, response: requests.Response) -> dict:
        where = f"{method} {display_url(url)}"
        if response.is_redirect:
            location = display_url(response.headers.get("Location", ""))
            raise ProtocolError(
                f"{where} was redirected to {location or 'another address'}; "
                "point the client at the final address",
                status_code=response.status_code,
            )
        try:
            body = response.json()
        except ValueError:
            content_type = response.headers.get("Content-Type") or "no content type"
            raise ProtocolError(
                f"{where} answered with {content_type}, not JSON; is this the portal's address?",
                status_code=response.status_code,
            ) from None
        if not isinstance(body, dict):
            raise ProtocolError(
                f"{where} answered with a JSON {type(body).__name__}, not an object",
                status_code=response.status_code,
            )
        if response.status_code >= 400 or body.get("status") == "error":
            raise error_from_answer(response.status_code, body)
        return body


def _root_cause(exc: BaseException) -> str:
    """The innermost reason behind an HTTP library exception, e.g. "Connection refused"."""
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    innermost = exc
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        innermost = current
        linked = (getattr(current, "reason", None), current.__cause__, current.__context__)
        pending.extend(item for item in (*linked, *current.args) if isinstance(item, BaseException))
    return str(innermost) or type(innermost).__name__

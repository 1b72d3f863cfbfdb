"""HTTP for the client: one session, JSON answers, error mapping and retries of safe calls."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
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
        body: dict | None = None,
        headers: dict | None = None,
    ) -> dict:
        """The answer's JSON object, for `body` sent as JSON; raises an `Error` for anything else.

        A call that is `safe_to_retry` (it changes nothing) is tried again, up to `max_retries`
        times with exponential backoff, when no answer arrives or the answer is 429 or 5xx.
        Any other call is sent once: a lost answer may hide a change that did happen.
        """
        retries = self.max_retries if safe_to_retry else 0
        attempt = 0
        while True:
            is_last_attempt = attempt >= retries
            try:
                reply = self._send(method, url, params=params, json=body, headers=headers)
            except NetworkError:
                if is_last_attempt:
                    raise
            else:
                if is_last_attempt or reply.status_code not in RETRYABLE_STATUSES:
                    return _answer_of(f"{method} {display_url(url)}", reply)
            time.sleep(self.backoff * 2**attempt)
            attempt += 1

    def _send(self, method: str, url: str, **kwargs: Any) -> Reply:
        try:
            # No redirects: a redirected POST turns into a GET, and the credentials would
            # follow it to wherever it points.
            with self._session.request(
                method, url, timeout=self.timeout, allow_redirects=False, **kwargs
            ) as response:
                return Reply(
                    status_code=response.status_code,
                    content_type=response.headers.get("Content-Type", ""),
                    location=response.headers["Location"] if response.is_redirect else None,
                    content=response.content,
                )
        except requests.RequestException as exc:
            reason = self._reason(exc)
        # Raised outside the `except`: the library's exception, which holds the request and so
        # the credentials, must not ride along as the context.
        raise NetworkError(f"{method} {display_url(url)} failed: {reason}")

    def _reason(self, exc: requests.RequestException) -> str:
        if isinstance(exc, requests.Timeout):
            return f"no answer within {self.timeout:g} s"
        return _root_cause(exc)


@dataclass(frozen=True)
class Reply:
    """What the client keeps of an HTTP answer. No library object outlives `_send`: one kept
    by an exception's traceback would hold the request (credentials) and the connection."""

    status_code: int
    content_type: str
    location: str | None
    content: bytes


def _answer_of(where: str, reply: Reply) -> dict:
    if reply.location is not None:
        raise ProtocolError(
            f"{where} was redirected to {display_url(reply.location) or 'another address'}; "
            "point the client at the final address",
            status_code=reply.status_code,
        )
    try:
        body = json.loads(reply.content)
    except ValueError:
        raise ProtocolError(
            f"{where} answered with {reply.content_type or 'no content type'}, not JSON; "
            "is this the portal's address?",
            status_code=reply.status_code,
        ) from None
    if not isinstance(body, dict):
        raise ProtocolError(
            f"{where} answered with a JSON {type(body).__name__}, not an object",
            status_code=reply.status_code,
        )
    if reply.status_code >= 400 or body.get("status") == "error":
        raise error_from_answer(reply.status_code, body)
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

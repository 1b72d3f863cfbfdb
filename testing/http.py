"""Requests to the APIs and pages under test, and assertions on what they answer."""

import http.client
import json
import re
import socket
from typing import NamedTuple
from urllib.parse import urlencode

from django.conf import settings

ERROR_KEYS = {"status", "code", "name", "type", "message"}


def post_json(client, path, body, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", headers=headers)


def post_form(client, path, body, **headers):
    return client.post(
        path,
        urlencode(body, doseq=True),
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )


def assert_error(response, http_status, name, message=None):
    body = response.json()
    assert response.status_code == http_status, body
    assert set(body) == ERROR_KEYS
    assert body["status"] == "error"
    assert body["code"] == -1
    assert body["name"] == name
    assert body["type"] == name
    if message is not None:
        assert body["message"] == message
    return body


def page_text(response) -> str:
    """The response body with tags dropped and whitespace collapsed, to assert on what shows."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def send_chunked(
    port: int, method: str, path: str, body: bytes, content_type: str, chunk_size: int = 64
) -> tuple[int, dict, bytes]:
    """One raw HTTP/1.1 request to 127.0.0.1 with the body in chunks and no Content-Length, as
    Node's https.request and `curl -H 'Transfer-Encoding: chunked'` send it. Answers (status,
    headers, body)."""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(part), part)
        for part in (body[start : start + chunk_size] for start in range(0, len(body), chunk_size))
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(head + chunks + b"0\r\n\r\n")
        response = http.client.HTTPResponse(connection)
        response.begin()
        return response.status, dict(response.getheaders()), response.read()


class HostileBody(NamedTuple):
    """A body no API may answer with a 5xx, and the status and message it gets instead."""

    name: str
    body: str
    content_type: str
    status: int
    message: str


def hostile_bodies() -> list[HostileBody]:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return [
        HostileBody(
            "deeply-nested-json",
            "[" * 1000 + "]" * 1000,
            "application/json",
            400,
            "The request body is nested too deeply",
        ),
        HostileBody(
            "too-many-form-fields",
            "&".join(f"field{number}=1" for number in range(1001)),
            "application/x-www-form-urlencoded",
            400,
            "The request body has too many fields",
        ),
        HostileBody(
            "too-large-json",
            json.dumps({"padding": "x" * limit}),
            "application/json",
            413,
            f"The request body is too large (at most {limit} bytes)",
        ),
    ]


def hidden_fields(response, action: str | None = None) -> dict:
    """The hidden fields (CSRF and one-time form tokens) of the page's first POST form posting
    to `action` (None: the form without an action, which posts to the page itself)."""
    for form in re.finditer(r"<form\b([^>]*)>(.*?)</form>", response.content.decode(), re.S):
        found = re.search(r'action="([^"]*)"', form.group(1))
        posts = re.search(r'method="post"', form.group(1), re.I)
        if posts and (found.group(1) if found else None) == action:
            return dict(
                re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(2))
            )
    raise AssertionError(f"no form posting to {action or 'the page itself'}")

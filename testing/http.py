"""Requests to the APIs and pages under test, and assertions on what they answer."""

import json
import re
from urllib.parse import urlencode

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

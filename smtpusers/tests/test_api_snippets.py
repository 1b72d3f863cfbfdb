"""The home page's API examples run as shown (token filled in) against a live server."""

import json
import shutil
import subprocess
import sys

import pytest

from core.snippets import TOKEN_PLACEHOLDER, curl_snippet, python_snippet
from smtpusers import services

LIST_SMTP_PATH = "/v1.0/settings/listSmtp"


@pytest.fixture
def alices_smtp_user(alice):
    smtp_user, _ = services.create_smtp_user(alice.owner, total_limit=10, hourly_limit=5)
    return smtp_user


def test_it_shows_a_python_example_that_lists_the_smtp_users(live_server, alice, alices_smtp_user):
    snippet = python_snippet(live_server.url + LIST_SMTP_PATH, alice.owner_id)

    result = subprocess.run(
        [sys.executable, "-c", snippet.replace(TOKEN_PLACEHOLDER, alice.token)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert result.stdout == f"{alices_smtp_user.smtp_user_name} Enable\n"


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_it_shows_a_curl_example_that_lists_the_smtp_users(live_server, alice, alices_smtp_user):
    snippet = curl_snippet(live_server.url + LIST_SMTP_PATH, alice.owner_id, alice.token)

    result = subprocess.run(
        ["sh", "-c", f"{snippet} --silent"], capture_output=True, text=True, timeout=60, check=True
    )

    body = json.loads(result.stdout)
    assert body["status"] == "success"
    assert [item["smtp_user_name"] for item in body["smtp_list"]] == [
        alices_smtp_user.smtp_user_name
    ]

"""Access logs never hold a password-reset link's token (gunicorn as the README runs it, and
Django's own request logs)."""

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from core.access_log import without_reset_token

PROJECT_DIR = Path(__file__).resolve().parents[2]
TOKEN = "cz8k1q-4f3b2a9e8d7c6b5a4f3e2d1c0b9a8f7e"
RESET_LINK = f"/accounts/password/reset/Zm9v/{TOKEN}/"
REDACTED_LINK = "/accounts/password/reset/Zm9v/<token>/"


@pytest.mark.parametrize(
    ("logged", "expected"),
    [
        (RESET_LINK, REDACTED_LINK),
        (f"GET {RESET_LINK}?next=/ HTTP/1.1", f"GET {REDACTED_LINK}?next=/ HTTP/1.1"),
        (f"https://portal.example.com{RESET_LINK}", f"https://portal.example.com{REDACTED_LINK}"),
    ],
)  # fmt: skip
def test_it_leaves_the_token_out_of_a_logged_path(logged, expected):
    assert without_reset_token(logged) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/password/reset/Zm9v/set-password/",  # where Django redirects the link to
        "/accounts/password/reset/sent/",
        "/accounts/password/reset/",
    ],
)
def test_it_logs_token_free_paths_as_they_are(path):
    assert without_reset_token(path) == path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_it_logs_a_reset_link_without_its_token_in_gunicorns_access_log(tmp_path):
    port = free_port()
    access_log = tmp_path / "access.log"
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
            "--bind", f"127.0.0.1:{port}", "--workers", "1",
            "--access-logfile", str(access_log), "portal.wsgi",
        ],
        cwd=PROJECT_DIR,
        env={**inherited, "DEBUG": "True"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = requests.get(
                    f"http://127.0.0.1:{port}{RESET_LINK}", allow_redirects=False, timeout=10
                )
                break
            except requests.ConnectionError:
                assert server.poll() is None and time.monotonic() < deadline, (
                    "gunicorn did not start"
                )
                time.sleep(0.2)
    finally:
        server.terminate()
        server.communicate(timeout=30)

    logged = access_log.read_text()
    assert response.status_code == 200  # the page saying the link is invalid
    assert f'"GET {REDACTED_LINK} HTTP/1.1" 200' in logged
    assert TOKEN not in logged


class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.mark.parametrize("logger_name", ["django.server", "django.request"])
def test_it_logs_a_reset_link_without_its_token_in_djangos_request_logs(logger_name):
    logger = logging.getLogger(logger_name)
    handler = ListHandler()
    logger.addHandler(handler)
    try:
        # As runserver logs each request (django.core.servers.basehttp).
        logger.warning('"%s" %s %s', f"GET {RESET_LINK} HTTP/1.1", 200, 1234)
    finally:
        logger.removeHandler(handler)

    assert handler.messages == [f'"GET {REDACTED_LINK} HTTP/1.1" 200 1234']

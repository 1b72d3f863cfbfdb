"""A quiet console: each log line printed once, no start-up banner from every process."""

import logging
import subprocess
import sys
from pathlib import Path

from django.test import Client

PROJECT_DIR = Path(__file__).resolve().parents[2]


def handlers_reached(logger: logging.Logger) -> list[logging.Handler]:
    """The handlers a record logged on `logger` goes through, as logging walks them."""
    reached = []
    while logger:
        reached += logger.handlers
        if not logger.propagate:
            break
        logger = logger.parent
    return reached


def test_it_prints_a_request_warning_through_one_handler(db, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        Client().get("/no-such-page/")

    assert [record.getMessage() for record in caplog.records] == ["Not Found: /no-such-page/"]
    reached = [
        handler
        for handler in handlers_reached(logging.getLogger("django.request"))
        if not isinstance(handler, type(caplog.handler))  # pytest's capture, not the console
        and type(handler).__module__ == "logging"
    ]
    assert len(reached) == 1


def test_it_starts_without_the_axes_banner():
    started = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert started.returncode == 0, started.stderr
    assert "AXES: BEGIN" not in started.stderr + started.stdout

"""Helpers for long-running management commands."""

import signal
import threading


def wait_for_termination() -> None:
    """Block until SIGINT (Ctrl-C) or SIGTERM."""
    received = threading.Event()

    def on_signal(signum, frame):
        received.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    # A timed wait lets the main thread run the signal handler promptly.
    while not received.wait(1):
        pass

"""A local webhook receiver: a real http.server on 127.0.0.1 that keeps what it is sent."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast

import pytest


@dataclass
class ReceivedPost:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """Answers each POST with the next of `statuses` (the last one repeats)."""

    statuses: list[int] = field(default_factory=lambda: [200])
    # Sent as the Location header of every answer when set (to try redirects).
    location: str | None = None
    posts: list[ReceivedPost] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None, "the receiver is not started"
        host, port = cast(tuple[str, int], self.server.server_address[:2])
        return f"http://{host}:{port}/hooks/portal"

    def start(self) -> "WebhookReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.posts.append(ReceivedPost(self.path, dict(self.headers.items()), body))
                status = receiver.statuses[min(len(receiver.posts), len(receiver.statuses)) - 1]
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"receiver trouble")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        assert self.server is not None, "the receiver is not started"
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook_receiver(settings):
    """A started receiver; webhooks to 127.0.0.1 are allowed for the test."""
    settings.ALERTS_WEBHOOK_ALLOW_INTERNAL_TARGETS = True
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def fast_alerts(settings):
    """Alert retries and polling in milliseconds."""
    settings.ALERTS_RETRY_BASE_SECONDS = 0.01
    settings.ALERTS_RETRY_MAX_SECONDS = 0.05
    settings.ALERTS_POLL_SECONDS = 0.05
    settings.ALERTS_WEBHOOK_TIMEOUT_SECONDS = 5
    return settings

"""A local HTTP server that plays the API with scripted answers and records the requests."""

import json
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread


@dataclass
class Answer:
    """One scripted answer of a stub server."""

    status: int = 200
    body: dict | list | str = field(default_factory=lambda: {"status": "success"})
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    # Close the connection without answering at all.
    drop: bool = False


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


class StubServer:
    """A local HTTP server giving scripted answers in order and recording every request."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests: list[RecordedRequest] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                stub.requests.append(
                    RecordedRequest(
                        self.command, self.path, dict(self.headers), self.rfile.read(length)
                    )
                )
                answer = stub.answers.pop(0) if stub.answers else Answer(500, "unscripted")
                time.sleep(answer.delay)
                if answer.drop:
                    self.close_connection = True
                    return
                payload = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
                content = payload.encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(content)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_DELETE = handle_any

            def log_message(self, format, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()

"""runserver that also reads request bodies sent with Transfer-Encoding: chunked.

Django's development server passes a chunked body on undecoded with no CONTENT_LENGTH: Django
reads it as empty and the chunks are taken for the next request. Here the body is de-chunked
first, up to one byte past DATA_UPLOAD_MAX_MEMORY_SIZE (as core/wsgi.py reads it behind
gunicorn), so that Django reads it, or refuses it as too large, as any other body.
"""

import io

from django.conf import settings
from django.contrib.staticfiles.management.commands.runserver import Command as StaticRunserver
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer

MAX_LINE_BYTES = 65536


class BadChunks(ValueError):
    pass


def read_chunks(stream, limit: int | None) -> bytes:
    """The de-chunked body; reading stops one byte past `limit` (None: no limit)."""
    body = bytearray()
    while True:
        size = int(stream.readline(MAX_LINE_BYTES).split(b";")[0], 16)
        if size < 0:
            raise BadChunks("negative chunk size")
        if size == 0:
            break
        if limit is not None and len(body) + size > limit:
            # Enough to refuse it; the rest is left unread and the connection closed.
            return bytes(body + stream.read(limit + 1 - len(body)))
        chunk = stream.read(size)
        if len(chunk) < size or stream.readline(MAX_LINE_BYTES).strip():
            raise BadChunks("truncated chunk")
        body += chunk
    while stream.readline(MAX_LINE_BYTES).strip():
        pass  # trailer fields, unused
    return bytes(body)


class ChunkedBodyRequestHandler(WSGIRequestHandler):
    def parse_request(self):
        if not super().parse_request():
            return False
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        if chunked and "Content-Length" not in self.headers:
            try:
                body = read_chunks(self.rfile, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
            except ValueError:
                self.send_error(400, "Malformed chunked body")
                return False
            # The request reads its body from here; the connection ends with the answer.
            self.rfile = io.BytesIO(body)
            del self.headers["Transfer-Encoding"]
            self.headers["Content-Length"] = str(len(body))
            self.close_connection = True
        return True


class ChunkedBodyWSGIServer(WSGIServer):
    def __init__(self, server_address, handler_class, *args, **kwargs):
        super().__init__(server_address, ChunkedBodyRequestHandler, *args, **kwargs)


class Command(StaticRunserver):
    server_cls = ChunkedBodyWSGIServer

"""The WSGI wrapper around the portal (portal/wsgi.py)."""

import io

from django.conf import settings


def read_chunked_bodies(application):
    """Hand Django a body sent with Transfer-Encoding: chunked, which it would read as empty.

    gunicorn de-chunks the body (wsgi.input_terminated) but can give no CONTENT_LENGTH. Reading
    one byte past the size limit is enough for Django to refuse a larger body as it refuses any
    (RequestDataTooBig, which the APIs answer with 413).
    """

    def wrapped(environ, start_response):
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not environ.get("CONTENT_LENGTH") and environ.get("wsgi.input_terminated"):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            body = environ["wsgi.input"].read(-1 if limit is None else limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return application(environ, start_response)

    return wrapped

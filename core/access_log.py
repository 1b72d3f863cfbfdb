"""Access logs without password-reset tokens.

A reset link (/accounts/password/reset/<uidb64>/<token>/) is as good as the password until it
is used or expires: whoever reads the log could set a new password. Both gunicorn's access log
and Django's own request logs (runserver, django.request) log the path with `<token>` instead.
"""

import logging
import re

from gunicorn.glogging import Logger

# The token segment after a reset link's uidb64; "set-password" is the token-free address
# Django redirects the link to.
_RESET_TOKEN = re.compile(r"(/password/reset/[^/?#\s]+/)(?!set-password(?:/|$))[^/?#\s]+")


def without_reset_token(text: str) -> str:
    return _RESET_TOKEN.sub(r"\1<token>", text)


class AccessLogger(Logger):
    """gunicorn's logger (logger_class) with the token left out of every access-log field (the
    path, the request line, the referrer, headers)."""

    def atoms(self, resp, req, environ, request_time):
        return {
            name: without_reset_token(value) if isinstance(value, str) else value
            for name, value in super().atoms(resp, req, environ, request_time).items()
        }


class ResetTokenFilter(logging.Filter):
    """A logging filter for Django's request loggers: the message without the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = without_reset_token(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True

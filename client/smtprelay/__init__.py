"""Client library and command-line tool for the SMTP relay portal's APIs.

import smtprelay
client = smtprelay.Client('owner_id', 'token', base_url='http://127.0.0.1:8000')
client.settings.addSmtpUser(total_limit=500, hourly_limit=200)
"""

from smtprelay._version import __version__
from smtprelay.client import Client, EmailSettings, Settings, smtp_settings
from smtprelay.errors import (
    AuthenticationError,
    Error,
    GeneralError,
    NetworkError,
    NotFoundError,
    ProtocolError,
    ValidationError,
)

__all__ = [
    "AuthenticationError",
    "Client",
    "EmailSettings",
    "Error",
    "GeneralError",
    "NetworkError",
    "NotFoundError",
    "ProtocolError",
    "Settings",
    "ValidationError",
    "__version__",
    "smtp_settings",
]

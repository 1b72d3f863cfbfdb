"""Generated SMTP logins and passwords."""

import secrets
import string

NAME_PREFIX = "smtp"
NAME_DIGITS = 8
PASSWORD_LENGTH = 20
_PASSWORD_ALPHABET = string.ascii_letters + string.digits


def generate_smtp_user_name() -> str:
    """Shaped like the seeds' `smtp12345`; 10^8 values, collisions are retried by the service."""
    return NAME_PREFIX + "".join(secrets.choice(string.digits) for _ in range(NAME_DIGITS))


def generate_smtp_password() -> str:
    # Letters and digits only: safe in any SMTP client config, URL or shell, ~119 bits.
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))

"""Generated SMTP logins and passwords."""

import math
import secrets
import string

NAME_PREFIX = "smtp"
NAME_DIGITS = 8
# Letters and digits without the look-alikes 0/O/o and 1/l/I, so that a password read aloud or
# copied by hand comes out right: 56 symbols, 20 of them ~116 bits.
LOOK_ALIKES = "0Oo1lI"
PASSWORD_ALPHABET = "".join(
    symbol for symbol in string.ascii_letters + string.digits if symbol not in LOOK_ALIKES
)
PASSWORD_LENGTH = 20
PASSWORD_ENTROPY_BITS = PASSWORD_LENGTH * math.log2(len(PASSWORD_ALPHABET))


def generate_smtp_user_name() -> str:
    """Shaped like the seeds' `smtp12345`; 10^8 values, collisions are retried by the service."""
    return NAME_PREFIX + "".join(secrets.choice(string.digits) for _ in range(NAME_DIGITS))


def generate_smtp_password() -> str:
    # Letters and digits only: safe in any SMTP client config, URL or shell. Passwords made
    # before (with look-alikes) are stored as they are and keep working.
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))

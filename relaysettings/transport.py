"""Sending a message through an upstream SMTP server described by a relay setting.

Used by the test-send of the email settings and by the relay worker of the SMTP server.
Upstream replies are reported verbatim (code and text) so customers see what their provider said.
"""

import smtplib
import ssl
from dataclasses import dataclass, field
from typing import cast

from django.conf import settings

from core.network import InternalAddressError, IPAddress, checked_addresses, connect
from relaysettings.selectors import auth_password_of

DEFAULT_TIMEOUT_SECONDS = 15


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    secure: bool
    reject_unauthorized: bool
    auth_user: str | None = None
    auth_password: str | None = field(default=None, repr=False)


class DeliveryError(Exception):
    """The upstream refused or could not be reached. `permanent` means do not retry."""

    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


def target_for(relay_setting) -> SmtpTarget:
    return SmtpTarget(
        host=relay_setting.host,
        port=relay_setting.port,
        secure=relay_setting.secure,
        reject_unauthorized=relay_setting.tls_reject_unauthorized,
        auth_user=relay_setting.auth_user or None,
        auth_password=auth_password_of(relay_setting),
    )


def _tls_context(reject_unauthorized: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not reject_unauthorized:
        # The customer chose to accept any certificate (tls.rejectUnauthorized = false).
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _reply_text(code: int, text) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


def _quit_quietly(connection: smtplib.SMTP) -> None:
    """QUIT and close. Unlike `with SMTP(...)`, a bad reply to QUIT once the message was
    accepted is no error: reporting one would make the relay send the message twice."""
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()


def _checked_addresses(target: SmtpTarget) -> list[IPAddress]:
    """The upstream's addresses, resolved once. Private, loopback or link-local ones are refused
    unless the operator allows them: otherwise a customer could make the portal probe its own
    internal network."""
    try:
        return checked_addresses(
            target.host, target.port, allow_internal=settings.RELAY_ALLOW_PRIVATE_NETWORKS
        )
    except InternalAddressError as error:
        raise DeliveryError(
            f"{target.host} is on a private or reserved address ({error.address}); relaying there "
            "is not allowed",
            permanent=True,
        ) from None
    except OSError as error:
        raise DeliveryError(
            f"Cannot resolve {target.host}: {error.strerror or error}", permanent=False
        ) from None


class _CheckedAddressSMTP(smtplib.SMTP):
    """Connects to the addresses checked beforehand instead of resolving the host again; the
    host stays the name, which STARTTLS sends as SNI and verifies the certificate against."""

    def __init__(self, host: str, port: int, *, addresses: list[IPAddress], **options):
        self.addresses = tuple(addresses)
        super().__init__(host, port, **options)

    def _get_socket(self, host, port, timeout):
        # smtplib keeps the (host, port) it was given, if any; the portal gives none.
        source_address = cast("tuple[str, int] | None", self.source_address)
        return connect(self.addresses, port, timeout=timeout, source_address=source_address)


class _CheckedAddressSMTPSSL(smtplib.SMTP_SSL, _CheckedAddressSMTP):
    """Implicit TLS: SMTP_SSL wraps _CheckedAddressSMTP's socket for the name."""

    def __init__(self, host: str, port: int, *, addresses: list[IPAddress], **options):
        self.addresses = tuple(addresses)
        smtplib.SMTP_SSL.__init__(self, host, port, **options)


def send_message(
    target: SmtpTarget,
    *,
    mail_from: str,
    recipients: list[str],
    message: bytes,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> dict[str, str]:
    """Deliver `message`; returns the recipients the upstream refused (address -> reply).

    Raises DeliveryError when nothing was delivered.
    """
    addresses = _checked_addresses(target)
    context = _tls_context(target.reject_unauthorized)
    try:
        connection: smtplib.SMTP
        if target.secure:
            connection = _CheckedAddressSMTPSSL(
                target.host, target.port, addresses=addresses, timeout=timeout, context=context
            )
        else:
            connection = _CheckedAddressSMTP(
                target.host, target.port, addresses=addresses, timeout=timeout
            )
        try:
            connection.ehlo()
            if not target.secure and connection.has_extn("starttls"):
                connection.starttls(context=context)
                connection.ehlo()
            if target.auth_user:
                connection.login(target.auth_user, target.auth_password or "")
            refused = connection.sendmail(mail_from, recipients, message)
        except BaseException:
            # No QUIT after a failure: waiting for its reply could add another full timeout.
            connection.close()
            raise
        _quit_quietly(connection)
    except smtplib.SMTPRecipientsRefused as error:
        replies = {rcpt: _reply_text(code, text) for rcpt, (code, text) in error.recipients.items()}
        permanent = all(reply.startswith("5") for reply in replies.values())
        raise DeliveryError("; ".join(replies.values()), permanent=permanent) from None
    except smtplib.SMTPResponseException as error:
        raise DeliveryError(
            _reply_text(error.smtp_code, error.smtp_error), permanent=500 <= error.smtp_code < 600
        ) from None
    except smtplib.SMTPNotSupportedError as error:
        raise DeliveryError(f"Upstream does not support: {error}", permanent=True) from None
    except ssl.SSLCertVerificationError as error:
        raise DeliveryError(
            f"TLS certificate of {target.host} not trusted: {error.verify_message}", permanent=False
        ) from None
    except ssl.SSLError as error:
        raise DeliveryError(
            f"TLS error with {target.host}: {error.reason}", permanent=False
        ) from None
    except TimeoutError:
        raise DeliveryError(
            f"Timed out after {timeout:g} s talking to {target.host}:{target.port}", permanent=False
        ) from None
    except smtplib.SMTPServerDisconnected as error:
        raise DeliveryError(f"Upstream closed the connection: {error}", permanent=False) from None
    except smtplib.SMTPException as error:
        raise DeliveryError(f"SMTP error: {error}", permanent=False) from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise DeliveryError(
            f"Cannot connect to {target.host}:{target.port}: {reason}", permanent=False
        ) from None
    return {rcpt: _reply_text(code, text) for rcpt, (code, text) in refused.items()}

"""Sending a message through an upstream SMTP server described by a relay setting.

Used by the test-send of the email settings and by the relay worker of the SMTP server.
Upstream replies are reported verbatim (code and text) so customers see what their provider said.
"""

import functools
import smtplib
import ssl
import threading
import time
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
    return _cached_tls_context(reject_unauthorized, ssl.get_default_verify_paths())


@functools.cache
def _cached_tls_context(reject_unauthorized: bool, _ca_store) -> ssl.SSLContext:
    """One context per verification mode and CA store (SSL_CERT_FILE and kin) for the process:
    creating one loads the CA store, which cost more than the rest of a delivery."""
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


def _open_connection(target: SmtpTarget, timeout: float) -> smtplib.SMTP:
    """A new connection to the checked address of the upstream, greeted, upgraded to TLS when
    offered (or implicit) and logged in."""
    addresses = _checked_addresses(target)
    context = _tls_context(target.reject_unauthorized)
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
    except BaseException:
        connection.close()
        raise
    return connection


class ConnectionPool:
    """Open upstream connections, kept between messages: many messages go over one connection
    (one TLS handshake, EHLO and AUTH for all of them).

    Connections are keyed by the target (upstream, TLS, login) and by whether internal
    addresses were allowed when the address was checked. At most
    RELAY_MAX_CONNECTIONS_PER_UPSTREAM are open per key in this process (a sender waits for a
    free one beyond that), and one unused for RELAY_IDLE_CONNECTION_SECONDS is closed.
    """

    def __init__(self):
        self._condition = threading.Condition()
        self._idle: dict[tuple, list[tuple[float, smtplib.SMTP]]] = {}
        self._open: dict[tuple, int] = {}
        self._reaper: threading.Thread | None = None

    def _take(self, key: tuple) -> smtplib.SMTP | None:
        """A slot for `key`: its most recently used idle connection, or None when the caller
        may open a new one (waits while the cap is reached)."""
        with self._condition:
            while True:
                idle = self._idle.get(key)
                if idle:
                    return idle.pop()[1]
                if self._open.get(key, 0) < settings.RELAY_MAX_CONNECTIONS_PER_UPSTREAM:
                    self._open[key] = self._open.get(key, 0) + 1
                    return None
                self._condition.wait()

    def _put_back(self, key: tuple, connection: smtplib.SMTP) -> None:
        with self._condition:
            self._idle.setdefault(key, []).append((time.monotonic(), connection))
            self._condition.notify()
            if self._reaper is None:
                self._reaper = threading.Thread(
                    target=self._close_idle_forever, name="relay-connection-reaper", daemon=True
                )
                self._reaper.start()

    def _forget(self, key: tuple, connection: smtplib.SMTP | None) -> None:
        """Free the slot of a connection that failed (closed without QUIT)."""
        if connection is not None:
            connection.close()
        with self._condition:
            self._open[key] -= 1
            self._condition.notify()

    def send(
        self,
        target: SmtpTarget,
        *,
        mail_from: str,
        recipients: list[str],
        message: bytes,
        timeout: float,
    ) -> dict:
        key = (target, settings.RELAY_ALLOW_PRIVATE_NETWORKS)
        connection = self._take(key)
        if connection is not None:
            try:
                refused = connection.sendmail(mail_from, recipients, message)
            except (smtplib.SMTPServerDisconnected, ConnectionError):
                # The upstream closed the connection while it was idle: a new one below.
                connection.close()
                connection = None
            except BaseException:
                self._forget(key, connection)
                raise
            else:
                self._put_back(key, connection)
                return refused
        try:
            connection = _open_connection(target, timeout)
            refused = connection.sendmail(mail_from, recipients, message)
        except BaseException:
            # No QUIT after a failure: waiting for its reply could add another full timeout.
            self._forget(key, connection)
            raise
        self._put_back(key, connection)
        return refused

    def close_idle(self, *, older_than: float = 0.0) -> None:
        """QUIT the idle connections unused for `older_than` seconds (all of them by default)."""
        cutoff = time.monotonic() - older_than
        closing = []
        with self._condition:
            for key, idle in self._idle.items():
                keep = [(used, connection) for used, connection in idle if used > cutoff]
                closing += [(key, connection) for used, connection in idle if used <= cutoff]
                idle[:] = keep
            for key, _ in closing:
                self._open[key] -= 1
            self._condition.notify_all()
        for _, connection in closing:
            _quit_quietly(connection)

    def _close_idle_forever(self) -> None:
        """The reaper: closes idle connections as they expire, and ends once none is left
        (the next connection put back starts it again)."""
        while True:
            time.sleep(1)
            self.close_idle(older_than=settings.RELAY_IDLE_CONNECTION_SECONDS)
            with self._condition:
                if not any(self._idle.values()):
                    self._reaper = None
                    return


CONNECTIONS = ConnectionPool()


def send_message(
    target: SmtpTarget,
    *,
    mail_from: str,
    recipients: list[str],
    message: bytes,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> dict[str, str]:
    """Deliver `message` over an open connection to the upstream (a new one if none is idle);
    returns the recipients the upstream refused (address -> reply).

    Raises DeliveryError when nothing was delivered.
    """
    try:
        refused = CONNECTIONS.send(
            target, mail_from=mail_from, recipients=recipients, message=message, timeout=timeout
        )
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

"""The SMTP submission server: SMTP users log in, send within their limits, mail gets queued.

Built on aiosmtpd. The asyncio loop never touches the database: every query runs in a small
pool of threads (DatabaseThreads). `build_controller` assembles a server that runsmtp serves
and that tests start and stop in-process.

Reply codes (docs/smtp-server.md): 535 5.7.8 bad login, disabled user or address outside the
user's allowed networks, and at MAIL or DATA once the password was reset after the session
logged in, 454 4.7.0 too many failed logins, 550 5.7.1 sender domain not allowed or user
disabled mid-session, 451 4.7.1 hourly or daily limit reached, 554 5.7.1 total limit reached,
451 4.3.0 temporary server trouble.

The message path: this module calls mailqueue.services only (check_sender at MAIL,
accept_message at DATA); its authentication module calls smtpusers.
"""

import asyncio
import logging
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, connections
from django.utils import timezone

from core.errors import NotFoundError, ServiceError
from mailqueue.services import (
    CredentialsChanged,
    Refusal,
    SenderDomainRefused,
    SenderNotAllowed,
    SendingRefused,
    accept_message,
    check_sender,
)
from smtpserver.authentication import LoginFailed, LoginThrottled, authenticate_smtp_login

logger = logging.getLogger(__name__)

SERVER_IDENT = "ESMTP SMTP relay portal"
TEMPORARY_FAILURE = "451 4.3.0 Temporary server error; try again later"
_REFUSAL_CODES = {
    Refusal.DISABLED: "550 5.7.1",
    Refusal.OWNER_INACTIVE: "550 5.7.1",
    Refusal.HOURLY_LIMIT: "451 4.7.1",
    Refusal.DAILY_LIMIT: "451 4.7.1",
    Refusal.TOTAL_LIMIT: "554 5.7.1",
}


def reply_for(error: ServiceError) -> str:
    """The SMTP reply for a refusal raised by the services."""
    if isinstance(error, SendingRefused):
        return f"{_REFUSAL_CODES[error.reason]} {error.message}"
    if isinstance(error, (SenderNotAllowed, SenderDomainRefused, NotFoundError)):
        return f"550 5.7.1 {error.message}"
    if isinstance(error, CredentialsChanged):
        return f"535 5.7.8 {error.message}"
    return f"451 4.3.0 {error.message}"


# A connection used this recently is taken to be alive without Django's health check (a
# `SELECT 1` before each use: one round trip in every five of a message's). One that died
# meanwhile fails its statement (451, the client retries); from then on every thread checks
# its connection before the next use, so a restarted database costs one such failure.
RECENTLY_USED_SECONDS = 1.0


class DatabaseThreads:
    """A fixed pool of threads that run the handler's database work off the event loop."""

    def __init__(self, size: int):
        self._size = size
        self._executor = ThreadPoolExecutor(size, thread_name_prefix="smtp-db")
        self._used = threading.local()
        self._last_failure_at = -RECENTLY_USED_SECONDS

    async def run(self, function: Callable, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, partial(self._on_own_connection, function, *args, **kwargs)
        )

    def _on_own_connection(self, function: Callable, *args, **kwargs):
        # Drops a connection that failed or outlived CONN_MAX_AGE, as a request would.
        close_old_connections()
        used_at = getattr(self._used, "at", -RECENTLY_USED_SECONDS)
        if time.monotonic() - used_at < RECENTLY_USED_SECONDS and used_at > self._last_failure_at:
            connection.health_check_done = True  # type: ignore[attr-defined]  # not in the stubs
        try:
            return function(*args, **kwargs)
        except DatabaseError:
            self._last_failure_at = time.monotonic()
            raise
        finally:
            self._used.at = time.monotonic()

    def close(self) -> None:
        """Finish running work and close every thread's database connection."""
        # A connection belongs to the thread that opened it: occupy every pool thread at once
        # (the barrier) so that each one closes its own.
        barrier = threading.Barrier(self._size)

        def close_own_connection():
            try:
                barrier.wait(timeout=30)
            finally:
                connections.close_all()

        for _ in range(self._size):
            self._executor.submit(close_own_connection)
        self._executor.shutdown(wait=True)


class SubmissionHandler:
    """The aiosmtpd handler: AUTH against SMTP users, the sender rule, limits, queueing."""

    def __init__(self, database: DatabaseThreads, *, on_accepted: Callable[[], None] | None):
        self.database = database
        self.on_accepted = on_accepted

    async def authenticate(self, session, credentials: LoginPassword) -> AuthResult:
        try:
            smtp_user = await self.database.run(
                authenticate_smtp_login,
                credentials.login,
                credentials.password,
                client_ip=session.peer[0],
                now=timezone.now(),
            )
        except LoginThrottled as error:
            return AuthResult(success=False, handled=False, message=f"454 4.7.0 {error.message}")
        except LoginFailed as error:
            return AuthResult(success=False, handled=False, message=f"535 5.7.8 {error.message}")
        logger.info("SMTP login of %s from %s", smtp_user.smtp_user_name, session.peer[0])
        return AuthResult(success=True, auth_data=smtp_user)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        try:
            envelope.checked_sender = await self.database.run(
                check_sender, session.auth_data, address, now=timezone.now()
            )
        except ServiceError as error:
            return _refuse(session, error)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Sender OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if len(envelope.rcpt_tos) >= settings.SMTP_MAX_RECIPIENTS:
            return (
                f"452 4.5.3 Too many recipients: at most {settings.SMTP_MAX_RECIPIENTS} per message"
            )
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, server, session, envelope):
        try:
            message = await self.database.run(
                accept_message,
                session.auth_data,
                mail_from=envelope.mail_from,
                recipients=envelope.rcpt_tos,
                data=envelope.original_content,
                now=timezone.now(),
                client_ip=session.peer[0],
                checked_sender=getattr(envelope, "checked_sender", None),
            )
        except ServiceError as error:
            return _refuse(session, error)
        except DatabaseError:
            logger.exception("SMTP DATA: database error; the message was not accepted")
            return TEMPORARY_FAILURE
        logger.info(
            "Accepted message %s from %s (%s) for %d recipient(s)",
            message.pk,
            envelope.mail_from,
            session.auth_data.smtp_user_name,
            len(envelope.rcpt_tos),
        )
        if self.on_accepted is not None:
            self.on_accepted()
        return f"250 2.0.0 Queued as {message.pk}"

    async def handle_exception(self, error):
        logger.exception("SMTP session error", exc_info=error)
        return TEMPORARY_FAILURE


def _refuse(session, error: ServiceError) -> str:
    """The reply to a refused MAIL or DATA; a password reset also ends the session's login."""
    if isinstance(error, CredentialsChanged):
        # What the old password opened ends here: AUTH is offered again, for the new one.
        session.authenticated = False
        session.auth_data = None
    return reply_for(error)


class SubmissionSMTP(SMTP):
    """aiosmtpd's SMTP with AUTH required and checked asynchronously by the handler."""

    def __init__(self, handler: SubmissionHandler, *, auth_needs_tls: bool, **kwargs):
        super().__init__(handler, auth_required=True, auth_require_tls=True, **kwargs)
        # Set after __init__: aiosmtpd warns on every connection when AUTH may travel
        # unencrypted (the development setting), and an implicit-TLS connection, already
        # encrypted, must not ask for STARTTLS.
        self._auth_require_tls = auth_needs_tls

    def _authenticate(self, mechanism, auth_data):
        # aiosmtpd's PLAIN and LOGIN parsers call this synchronously; hand the parsed
        # credentials back to auth_PLAIN/auth_LOGIN below, which check them in a thread.
        return AuthResult(success=False, handled=False, auth_data=auth_data)

    async def auth_PLAIN(self, _, args):
        return await self._check_credentials(await super().auth_PLAIN(_, args))

    async def auth_LOGIN(self, _, args):
        return await self._check_credentials(await super().auth_LOGIN(_, args))

    async def _check_credentials(self, parsed: AuthResult) -> AuthResult:
        if not isinstance(parsed.auth_data, LoginPassword):
            return parsed  # malformed or aborted: aiosmtpd already answered or will
        return await self.event_handler.authenticate(self.session, parsed.auth_data)


@dataclass(frozen=True)
class Listener:
    host: str
    port: int  # 0: any free port
    protocol_factory: Callable[[], asyncio.Protocol]
    ssl_context: ssl.SSLContext | None = None  # implicit TLS


class SmtpController:
    """SMTP listeners served by one asyncio loop in a background thread."""

    def __init__(self, listeners: list[Listener], *, on_stopped: Callable[[], None] | None = None):
        self.listeners = listeners
        self.on_stopped = on_stopped
        self.ports: list[int] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._stopped = False

    def start(self, *, timeout: float = 10) -> "SmtpController":
        self._thread = threading.Thread(target=self._serve, name="smtp-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("The SMTP server did not start in time")
        if self._start_error is not None:
            self._thread.join()
            raise self._start_error
        return self

    def stop(self) -> None:
        """Stop listening, end open sessions, then run `on_stopped`; later calls do nothing."""
        if self._stopped:
            return
        self._stopped = True
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
        if self.on_stopped is not None:
            self.on_stopped()

    def _serve(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        servers = []
        try:
            for listener in self.listeners:
                servers.append(
                    loop.run_until_complete(
                        loop.create_server(
                            listener.protocol_factory,
                            listener.host,
                            listener.port,
                            ssl=listener.ssl_context,
                        )
                    )
                )
        except BaseException as error:
            self._start_error = error
        self.ports = [server.sockets[0].getsockname()[1] for server in servers]
        self._ready.set()
        try:
            if self._start_error is None:
                loop.run_forever()
        finally:
            for server in servers:
                server.close()
            # End the open sessions too, not only the listening sockets.
            sessions = asyncio.all_tasks(loop)
            for task in sessions:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*sessions, return_exceptions=True))
            loop.close()


def build_controller(
    *,
    host: str,
    port: int,
    tls_context: ssl.SSLContext,
    implicit_tls_port: int | None = None,
    allow_plaintext_auth: bool = False,
    hostname: str | None = None,
    on_accepted: Callable[[], None] | None = None,
) -> SmtpController:
    """The submission server: STARTTLS on `port`, and implicit TLS on `implicit_tls_port`.

    Without `allow_plaintext_auth`, AUTH is offered only once the connection is encrypted
    (and every command but EHLO, STARTTLS, NOOP and QUIT waits for STARTTLS).
    `on_accepted` is called (from the server thread) after each queued message.
    """
    database = DatabaseThreads(settings.SMTP_DB_THREADS)
    handler = SubmissionHandler(database, on_accepted=on_accepted)
    session_options = {
        "hostname": hostname or settings.SMTP_SERVER_HOSTNAME,
        "ident": SERVER_IDENT,
        "data_size_limit": settings.SMTP_MAX_MESSAGE_BYTES,
    }
    listeners = [
        Listener(
            host,
            port,
            partial(
                SubmissionSMTP,
                handler,
                tls_context=tls_context,
                require_starttls=not allow_plaintext_auth,
                auth_needs_tls=not allow_plaintext_auth,
                **session_options,
            ),
        )
    ]
    if implicit_tls_port is not None:
        listeners.append(
            Listener(
                host,
                implicit_tls_port,
                partial(SubmissionSMTP, handler, auth_needs_tls=False, **session_options),
                ssl_context=tls_context,
            )
        )
    return SmtpController(listeners, on_stopped=database.close)

"""Real SMTP servers for tests: aiosmtpd on 127.0.0.1, on an ephemeral port, with optional
STARTTLS, implicit TLS and AUTH.

    from testing.smtp import generate_self_signed_certificate, start_smtp_server

    certificate = generate_self_signed_certificate(tmp_path)
    with start_smtp_server(users={"relay": "secret"}, starttls=certificate) as server:
        ...  # connect to server.host, server.port
        message = server.messages[0].message  # an email.message.EmailMessage

Pytest fixtures (import them into a conftest.py to use them):
- `tls_certificate`: one self-signed certificate (localhost, 127.0.0.1) per test session;
- `smtp_server`: a factory taking start_smtp_server's options; every server it started is
  stopped at teardown.
"""

import asyncio
import email
import email.policy
import logging
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from smtpserver.tls import generate_self_signed_certificate as write_self_signed_certificate

LOCALHOST = "127.0.0.1"
ACCEPTED_REPLY = "250 Message accepted for delivery"

# aiosmtpd logs every session at INFO (and raw TLS bytes): keep failing tests' output readable.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@dataclass(frozen=True)
class TlsCertificate:
    cert_path: Path
    key_path: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context


def generate_self_signed_certificate(
    directory: Path, *, hostname: str = "localhost"
) -> TlsCertificate:
    """A fresh key and self-signed certificate for `hostname`, localhost and 127.0.0.1."""
    directory = Path(directory)
    cert_path = directory / f"{hostname}.crt"
    key_path = directory / f"{hostname}.key"
    write_self_signed_certificate(cert_path, key_path, hostname=hostname)
    return TlsCertificate(cert_path=cert_path, key_path=key_path)


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    recipients: list[str]
    data: bytes
    # The AUTH login the client used, or None; whether the session was encrypted.
    login: str | None
    encrypted: bool

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class CatchingHandler:
    """Keeps every message it receives; answers DATA with `data_reply` (set it to test errors)."""

    messages: list[ReceivedMessage] = field(default_factory=list)
    data_reply: str = ACCEPTED_REPLY

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply.startswith("2"):
            login = session.login_data.decode() if session.login_data else None
            self.messages.append(
                ReceivedMessage(
                    mail_from=envelope.mail_from,
                    recipients=list(envelope.rcpt_tos),
                    data=envelope.original_content or envelope.content,
                    login=login,
                    encrypted=server.transport.get_extra_info("ssl_object") is not None,
                )
            )
        return self.data_reply


@dataclass(frozen=True)
class PasswordAuthenticator:
    """aiosmtpd authenticator accepting exactly these logins and passwords (PLAIN, LOGIN)."""

    users: dict[str, str]

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
            if login in self.users and self.users[login] == password:
                return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)


class _EphemeralPortController(Controller):
    """Binds port 0 and learns the port the kernel chose before aiosmtpd's start-up probe."""

    def _trigger_server(self):
        self.port = cast(asyncio.Server, self.server).sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpServer:
    """A running aiosmtpd server; a context manager that stops it on exit."""

    def __init__(self, controller: _EphemeralPortController, handler: CatchingHandler):
        self._controller: _EphemeralPortController | None = controller
        self.handler = handler
        self.host = LOCALHOST

    @property
    def port(self) -> int:
        assert self._controller is not None, "the server is stopped"
        return self._controller.port

    @property
    def messages(self) -> list[ReceivedMessage]:
        return self.handler.messages

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


def start_smtp_server(
    *,
    users: dict[str, str] | None = None,
    starttls: TlsCertificate | None = None,
    implicit_tls: TlsCertificate | None = None,
    require_starttls: bool = False,
    handler: CatchingHandler | None = None,
) -> SmtpServer:
    """Start a server on 127.0.0.1 and an ephemeral port.

    users: accept AUTH with these logins (plain connections included, unless STARTTLS is
    offered: then AUTH is only offered after it, as real servers do).
    starttls / implicit_tls: offer STARTTLS / speak TLS from the first byte with this certificate.
    """
    handler = handler or CatchingHandler()
    options: dict[str, Any] = {}
    if users is not None:
        options["authenticator"] = PasswordAuthenticator(users)
        options["auth_require_tls"] = starttls is not None
    if starttls is not None:
        options["tls_context"] = starttls.server_context()
        options["require_starttls"] = require_starttls
    controller = _EphemeralPortController(
        handler,
        hostname=LOCALHOST,
        port=0,
        ssl_context=implicit_tls.server_context() if implicit_tls else None,
        ready_timeout=10,
        **options,
    )
    controller.start()
    return SmtpServer(controller, handler)


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory) -> TlsCertificate:
    return generate_self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_server() -> Iterator:
    """A factory: `smtp_server(users=..., starttls=...)` -> SmtpServer, stopped at teardown."""
    servers: list[SmtpServer] = []

    def start(**options) -> SmtpServer:
        server = start_smtp_server(**options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()

"""Test helpers: a local upstream SMTP server, the submission server in-process, clients."""

import smtplib
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from functools import partial
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP
from django.utils import timezone

from core.crypto import encrypt
from mailqueue.delivery import DeliveryWorkers
from mailqueue.models import QueuedMessage
from mailqueue.services import accept_message
from relaysettings.models import RelaySetting
from smtpserver.server import Listener, SmtpController, build_controller
from smtpserver.tls import generate_self_signed_certificate, server_tls_context
from smtpusers.services import create_smtp_user

HOST = "127.0.0.1"


@dataclass
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    # The client's (address, port): one per connection.
    peer: tuple | None = None


@dataclass
class UpstreamHandler:
    """Stands in for a customer's mail provider: keeps what it receives, or refuses it."""

    messages: list[ReceivedMessage] = field(default_factory=list)
    refuse_with: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_with:
            return self.refuse_with
        with self.lock:
            self.messages.append(
                ReceivedMessage(
                    envelope.mail_from, list(envelope.rcpt_tos), envelope.content, session.peer
                )
            )
        return "250 2.0.0 OK upstream"


class Upstream:
    """A real aiosmtpd server on 127.0.0.1 (plain SMTP, no auth)."""

    def __init__(self, port: int = 0):
        self.handler = UpstreamHandler()
        self.controller = SmtpController(
            [Listener(HOST, port, partial(SMTP, self.handler, hostname="upstream.test"))]
        )

    def start(self) -> "Upstream":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.ports[0]

    @property
    def messages(self) -> list[ReceivedMessage]:
        return self.handler.messages


def free_port() -> int:
    """A port nothing listens on (an upstream that is down)."""
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def make_relay_setting(owner, domain: str, port: int, **fields) -> RelaySetting:
    """Relay settings for `domain` pointing at a local upstream (created directly)."""
    fields.setdefault("auth_user", "")
    fields.setdefault("host", HOST)
    password = fields.pop("auth_password", "")
    return RelaySetting.objects.create(
        owner=owner,
        domain=domain,
        from_address=f"noreply@{domain}",
        port=port,
        secure=False,
        tls_reject_unauthorized=False,
        auth_password_encrypted=encrypt(password) if password else "",
        **fields,
    )


class SubmissionServer:
    """The portal's SMTP server and (optionally) its delivery workers, in this process."""

    def __init__(self, tls_files, *, allow_plaintext_auth=False, deliver=True, workers=1):
        self.delivery = DeliveryWorkers(workers) if deliver else None
        self.controller = build_controller(
            host=HOST,
            port=0,
            implicit_tls_port=0,
            tls_context=server_tls_context(*tls_files),
            allow_plaintext_auth=allow_plaintext_auth,
            on_accepted=self.delivery.wake if self.delivery else None,
        )

    def start(self) -> "SubmissionServer":
        self.controller.start()
        if self.delivery:
            self.delivery.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
        if self.delivery:
            self.delivery.stop()

    @property
    def port(self) -> int:
        return self.controller.ports[0]

    @property
    def tls_port(self) -> int:
        return self.controller.ports[1]


def message_bytes(mail_from: str, to: list[str], subject: str = "Hello") -> bytes:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content(f"{subject}: sent through the portal.\n")
    return message.as_bytes()


def connect(server: SubmissionServer, client_tls: ssl.SSLContext, *, starttls=True):
    client = smtplib.SMTP(HOST, server.port, timeout=30)
    client.ehlo("client.test")
    if starttls:
        client.starttls(context=client_tls)
        client.ehlo("client.test")
    return client


def send(server, client_tls, *, login, password, mail_from, to, subject="Hello") -> dict:
    """One message over STARTTLS + AUTH; returns smtplib's refused recipients (raises if none)."""
    with connect(server, client_tls) as client:
        client.login(login, password)
        return client.sendmail(mail_from, to, message_bytes(mail_from, to, subject))


def wait_until(condition, *, timeout: float = 20, message: str = "condition"):
    """Poll until `condition()` is truthy (work done by server threads); fail after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.02)
    pytest.fail(f"Timed out waiting for {message}")


# Fixtures: imported by the conftest modules that use them.


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("smtp-tls")
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    generate_self_signed_certificate(cert_file, key_file, hostname="localhost")
    return cert_file, key_file


@pytest.fixture
def client_tls(tls_files) -> ssl.SSLContext:
    """A client that verifies the server's (self-signed) certificate."""
    return ssl.create_default_context(cafile=str(tls_files[0]))


@pytest.fixture
def fast_queue(settings):
    """Retries and polling in milliseconds, so delivery tests finish quickly."""
    settings.MAILQUEUE_RETRY_BASE_SECONDS = 0.05
    settings.MAILQUEUE_RETRY_MAX_SECONDS = 0.2
    settings.MAILQUEUE_POLL_SECONDS = 0.05
    settings.MAILQUEUE_RELAY_TIMEOUT_SECONDS = 5
    return settings


@pytest.fixture
def upstream():
    server = Upstream().start()
    yield server
    server.stop()


@pytest.fixture
def start_server(transactional_db, tls_files, fast_queue):
    """Start submission servers (stopped after the test): start_server(**options)."""
    started = []

    def start(**options) -> SubmissionServer:
        server = SubmissionServer(tls_files, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def queue_directly(owner, relay_setting, count, *, now=None) -> list[QueuedMessage]:
    """`count` messages of `owner` due `now` (default: now), as if accepted earlier, written
    directly (no quota, no SMTP user)."""
    now = now or timezone.now()
    return QueuedMessage.objects.bulk_create(
        QueuedMessage(
            owner=owner,
            relay_setting=relay_setting,
            mail_from=f"news@{relay_setting.domain}",
            rcpt_to=["reader@destination.test"],
            data=b"Subject: hi\r\n\r\nhello\r\n",
            size=22,
            next_attempt_at=now,
            created_at=now,
        )
        for _ in range(count)
    )


def queue_messages(tenant, domain, count):
    make_relay_setting(tenant.owner, domain, 2525)
    smtp_user, _ = create_smtp_user(tenant.owner, total_limit=1000, hourly_limit=1000)
    base = timezone.now() - timedelta(minutes=count)
    return [
        accept_message(
            smtp_user,
            mail_from=f"news@{domain}",
            recipients=[f"reader{n}@destination.test", "copy@destination.test"],
            data=b"Subject: x\r\n\r\nx\r\n",
            now=base + timedelta(minutes=n),
        )
        for n in range(count)
    ]


def send_count(server, client_tls, smtp_user, password, count):
    """Send `count` messages on one connection; returns each one's (code, reply)."""
    replies = []
    with connect(server, client_tls) as client:
        client.login(smtp_user.smtp_user_name, password)
        for number in range(count):
            to = [f"reader{number}@destination.test"]
            try:
                client.sendmail("news@alice.example", to, message_bytes("news@alice.example", to))
            except smtplib.SMTPSenderRefused as error:
                replies.append((error.smtp_code, error.smtp_error.decode()))
                client.rset()
            else:
                replies.append((250, "accepted"))
    return replies

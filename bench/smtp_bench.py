"""Messages per second through the portal's SMTP server (AUTH + quota + queue, PostgreSQL)
next to a bare aiosmtpd sink, with the same client code. See bench/README.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
        .venv/bin/python bench/smtp_bench.py [--threads 8] [--messages 100]

The database is created and migrated if needed; the benchmark's owner is deleted afterwards.
The clients run in a separate process so that they do not share the servers' GIL.
"""

import argparse
import logging
import os
import smtplib
import ssl
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
BODY = ("Benchmark line of a typical small message.\r\n" * 25).encode()


def run_clients(port, credentials, threads, messages) -> float:
    """N threads, each one connection (STARTTLS, then AUTH with credentials[n % len] unless
    they are empty) sending M messages.

    Returns the wall-clock seconds from the first connection to the last reply.
    """
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    start = threading.Barrier(threads + 1)
    failures = []

    def client(number):
        login, password = credentials[number % len(credentials)]
        with smtplib.SMTP(HOST, port, timeout=60) as session:
            start.wait()
            session.ehlo("bench.test")
            session.starttls(context=context)
            session.ehlo("bench.test")
            if login:
                session.login(login, password)
            for sequence in range(messages):
                headers = (
                    "From: bench@bench.example\r\nTo: sink@destination.test\r\n"
                    f"Subject: bench {number}-{sequence}\r\n\r\n"
                ).encode()
                refused = session.sendmail(
                    "bench@bench.example", ["sink@destination.test"], headers + BODY
                )
                if refused:
                    failures.append(refused)

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"{len(failures)} messages refused")
    return elapsed


def measure(port, credentials, threads, messages) -> tuple[float, float]:
    """(wall seconds of the clients, CPU seconds of this process, i.e. of the servers)."""
    cpu = time.process_time()
    with ProcessPoolExecutor(1) as clients:
        elapsed = clients.submit(run_clients, port, credentials, threads, messages).result()
    return elapsed, time.process_time() - cpu


def setup_django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    # The benchmark's domain is published in no DNS. Its verification check costs no query
    # (the status is on the relay settings row already read); DKIM signing, which a verified
    # domain adds, is not in these figures (bench/RESULTS.md).
    os.environ.setdefault("DOMAIN_VERIFICATION", "False")
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (it is created if missing).")
    import django
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--messages", type=int, default=100, help="per thread (connection)")
    options = parser.parse_args()
    setup_django()

    from aiosmtpd.smtp import SMTP
    from django.db import connections
    from django.db.models import Sum

    from accounts.services import create_owner
    from mailqueue.models import QueuedMessage
    from smtpserver.server import Listener, SmtpController, build_controller
    from smtpserver.tls import generate_self_signed_certificate, server_tls_context
    from smtpusers.models import SmtpUsageHour, SmtpUser
    from smtpusers.services import create_smtp_user
    from testing.submission import make_relay_setting

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    # One line per accepted message is too much here.
    logging.getLogger("smtpserver").setLevel(logging.WARNING)
    total = options.threads * options.messages
    owner, _, _ = create_owner(name="SMTP benchmark")
    try:
        make_relay_setting(owner, "bench.example", 9)  # never contacted: no delivery here
        smtp_users = []
        credentials = []
        for _ in range(options.threads):
            smtp_user, password = create_smtp_user(
                owner, total_limit=2_000_000_000, hourly_limit=2_000_000_000
            )
            smtp_users.append(smtp_user)
            credentials.append((smtp_user.smtp_user_name, password))
        with tempfile.TemporaryDirectory() as directory:
            cert_file, key_file = Path(directory, "cert.pem"), Path(directory, "key.pem")
            generate_self_signed_certificate(cert_file, key_file, hostname="localhost")
            tls_context = server_tls_context(cert_file, key_file)
            sink = SmtpController(
                [Listener(HOST, 0, partial(SMTP, Sink(), tls_context=tls_context))]
            ).start()
            portal = build_controller(host=HOST, port=0, tls_context=tls_context).start()
            try:
                run = partial(measure, threads=options.threads, messages=options.messages)
                seconds = {
                    "sink": run(sink.ports[0], [("", "")]),
                    "portal, one SMTP user per connection": run(portal.ports[0], credentials),
                    "portal, one SMTP user for all": run(portal.ports[0], credentials[:1]),
                }
            finally:
                portal.stop()
                sink.stop()
        queued = QueuedMessage.objects.filter(owner=owner).count()
        used = sum(SmtpUser.objects.filter(owner=owner).values_list("total_used", flat=True))
        counted = SmtpUsageHour.objects.filter(smtp_user__owner=owner).aggregate(Sum("count"))
        assert queued == used == counted["count__sum"] == 2 * total, "lost or extra counts"
    finally:
        owner.delete()
        connections.close_all()

    sink_rate = total / seconds["sink"][0]
    print(f"{options.threads} client threads x {options.messages} messages = {total} per run")
    for label, (elapsed, cpu) in seconds.items():
        rate = total / elapsed
        print(
            f"{label:<38} {rate:7.0f} messages/s  {rate / sink_rate:6.1%} of the sink  "
            f"({elapsed:5.2f} s; server CPU {cpu / total * 1000:5.2f} ms/message)"
        )


if __name__ == "__main__":
    main()

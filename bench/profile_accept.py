"""Profile the SMTP accept path in this process: the server's MAIL and DATA handlers, as a
session calls them (its database threads and connection handling included), without the SMTP
protocol and TLS around them (the bare aiosmtpd sink's share in RESULTS.md).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
        .venv/bin/python bench/profile_accept.py [--messages 2000] [--sessions 8] [--profile]

Prints the CPU time per message of this process and of PostgreSQL (this database's backends);
--profile adds yappi's CPU profile of every thread. DOMAIN_VERIFICATION is on and the domain
verified, as in relay_bench.py, so the verified-domain and header From checks run.
"""

import argparse
import asyncio
import importlib
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=8, help="concurrent sessions")
    parser.add_argument("--profile", action="store_true", help="print yappi's CPU profile")
    options = parser.parse_args()

    from bench import relay_bench

    relay_bench.setup_django()
    from django.conf import settings
    from django.utils import timezone

    from bench.relay_fixtures import BODY, BenchOwner
    from smtpserver.authentication import authenticate_smtp_login
    from smtpserver.server import DatabaseThreads, SubmissionHandler

    bench_owner = BenchOwner.create(sink_port=1, smtp_users=options.sessions)
    handler = SubmissionHandler(DatabaseThreads(settings.SMTP_DB_THREADS), on_accepted=None)
    mail_from = f"bench@{bench_owner.relay_setting.domain}"
    data = (f"From: {mail_from}\r\nTo: sink@destination.test\r\nSubject: bench\r\n\r\n").encode()
    data += BODY

    def session_for(login, password):
        user = authenticate_smtp_login(
            login.encode(), password.encode(), client_ip="127.0.0.1", now=timezone.now()
        )
        return SimpleNamespace(auth_data=user, peer=("127.0.0.1", 1), authenticated=True)

    sessions = [session_for(*credentials) for credentials in bench_owner.credentials]

    async def send(session, count):
        for _ in range(count):
            envelope = SimpleNamespace(
                mail_from=None, mail_options=[], rcpt_tos=[], rcpt_options=[]
            )
            reply = await handler.handle_MAIL(None, session, envelope, mail_from, [])
            assert reply.startswith("250"), reply
            await handler.handle_RCPT(None, session, envelope, "sink@destination.test", [])
            envelope.original_content = data
            reply = await handler.handle_DATA(None, session, envelope)
            assert reply.startswith("250"), reply

    async def run():
        per_session = options.messages // len(sessions)
        await asyncio.gather(*(send(session, per_session) for session in sessions))
        return per_session * len(sessions)

    asyncio.run(run())  # warm-up: connections opened, caches filled
    if options.profile:
        # Every thread, CPU clock. Not a requirement (pip install yappi), hence imported by name.
        yappi = importlib.import_module("yappi")

        yappi.set_clock_type("cpu")
        yappi.start()
    meter = relay_bench.CpuMeter(os.environ["DATABASE_URL"], list)
    _, pg_before = meter.sample()
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    sent = asyncio.run(run())
    cpu, wall = time.process_time() - cpu_before, time.perf_counter() - wall_before
    pg = meter.spent(pg_before, meter.sample()[1])
    if options.profile:
        yappi.stop()
        stats = yappi.get_func_stats()
        stats.sort("ttot").print_all(
            columns={0: ("name", 90), 1: ("ncall", 9), 3: ("ttot", 8), 2: ("tsub", 8)}
        )
    print(
        f"{sent} messages in {wall:.2f} s: {sent / wall:.0f} msg/s, "
        f"{cpu / sent * 1000:.2f} ms CPU/msg here, {pg / sent * 1000:.2f} ms PostgreSQL/msg"
    )
    bench_owner.clear_queue()
    bench_owner.delete()


if __name__ == "__main__":
    main()
